import { randomUUID } from 'node:crypto'
import {
  clusterSlot,
  createKeys,
  DEFAULT_CLUSTER_PARTITIONS,
  isIoredisCluster,
  isRedisseError,
  parseControl,
  partitionOf,
  partitionPrefix,
  quitWithin,
  type RedisKeys,
  RedisseError,
  validatePartitions,
} from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import type { Cluster } from 'ioredis'
import type { Logger } from '../createLogger'
import type { Broker, BrokerState } from './Broker'
import { createBrokerListeners } from './createBrokerListeners'
import type { ProbeOptions } from './createCanaryProbe'
import { createEnvelopeReader, type EnvelopeReader } from './createEnvelopeReader'
import { createLogAccess } from './createLogAccess'
import { createShardedSubscriberPool } from './createShardedSubscriberPool'
import { createTokenAccess } from './createTokenAccess'
import { openClusterNodes } from './openClusterNodes'
import { PARTITIONS_RECORD_TTL, recordPartitions } from './recordPartitions'
import { withDeadline } from './withDeadline'
import { writeHistoryConfig } from './writeHistoryConfig'

/** Default bound of every Redis command the broker sends, ms. */
const DEFAULT_COMMAND_TIMEOUT = 5000
/** Longest wait of `ready()` for every partition and the control channel, ms. */
const READY_TIMEOUT = 10_000

/** Options of the Redis Cluster broker. */
export interface ClusterBrokerOptions {
  /**
   * Some of the cluster's nodes as `redis://`/`rediss://` URLs (the broker
   * opens and closes its connections), or an ioredis `Cluster` it will not close.
   */
  cluster: readonly string[] | Cluster
  /**
   * Partitions of the log; publishers must use the same count, which the
   * broker records in `keys.partitions` (publishers check it before they
   * publish; `ready()` rejects with `invalid-option` when other servers
   * recorded another, `partitions-record-invalid` when the record is no
   * count) and in each partition's config (the publish script
   * checks it).
   * @defaultValue 16
   */
  partitions?: number
  prefix: string
  logger: Logger
  /** How long a publish waits for the cluster to come back before failing, in ms. */
  publishTimeout?: number
  /**
   * Bound of every command the broker sends, ms (see `RedisBrokerOptions`).
   * @defaultValue 5000
   */
  commandTimeout?: number
  /** Canary probe of each subscriber connection, or false for none. */
  probe?: ProbeOptions | false
}

/** The state of the whole broker from those of its partitions. */
function aggregate(states: readonly BrokerState[]): BrokerState {
  if (states.every((s) => s === 'ready')) return 'ready'
  if (states.includes('reconnecting')) return 'reconnecting'
  if (states.includes('connecting')) return 'connecting'
  return 'closed'
}

/**
 * The Redis Cluster broker: the log split in P partitions (one hash tag
 * each, so each partition's keys and sharded channel share a slot), every
 * partition a broker of its own with its epoch, sequence, history, state and
 * envelopes, served by ONE sharded subscriber connection per master
 * (`createShardedSubscriberPool`); commands go through one ioredis Cluster,
 * publishes and subjects through `@redisse/publisher` on it, and subject
 * edits arrive on one plain SUBSCRIBE to the control channel.
 */
export function createClusterBroker(options: ClusterBrokerOptions): Broker {
  const { logger } = options
  const partitions =
    options.partitions === undefined
      ? DEFAULT_CLUSTER_PARTITIONS
      : validatePartitions(options.partitions, 'redis.partitions')
  const timeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT
  const keys = createKeys(options.prefix, { cluster: true })
  const given = options.cluster
  const ownsCommand = !isIoredisCluster<Cluster>(given)
  const command: Cluster = isIoredisCluster<Cluster>(given)
    ? given
    : openClusterNodes(given, Math.max(timeout, options.publishTimeout ?? 0))
  const bounded = <T>(what: string, work: Promise<T>): Promise<T> =>
    withDeadline(work, { what, ms: timeout })
  const publisher = createPublisher({
    redis: { cluster: command, partitions },
    prefix: options.prefix,
    ...(options.publishTimeout === undefined ? {} : { publishTimeout: options.publishTimeout }),
  })

  const node = randomUUID()
  const partitionKeys: RedisKeys[] = Array.from({ length: partitions }, (_, p) =>
    createKeys(partitionPrefix(options.prefix, p, partitions)),
  )
  const readers: EnvelopeReader[] = partitionKeys.map((k) =>
    createEnvelopeReader({ keys: k, logger }),
  )
  const listeners = createBrokerListeners()
  const partitionListeners = partitionKeys.map(() => createBrokerListeners())
  let state: BrokerState = 'connecting'
  let closed = false

  const pool = createShardedSubscriberPool({
    cluster: command,
    partitions: partitionKeys.map((k) => ({
      slot: clusterSlot(k.seq),
      probeChannel: k.probe(node),
    })),
    timeout,
    probe: options.probe ?? { interval: 2000, timeout: 2000 },
    logger,
    onMessage(pubsubChannel, message) {
      // `<prefix>{<tag>}:ch:<channel>`: the prefix holds no brace, the tag no colon.
      const at = pubsubChannel.indexOf('}:ch:', options.prefix.length)
      const p = partitionOf(pubsubChannel.slice(at + 5), partitions)
      const envelope = readers[p]?.read(message, pubsubChannel, 'bus')
      if (envelope) partitionListeners[p]?.emitEnvelope(envelope)
    },
    onState(p, next) {
      partitionListeners[p]?.emitState(next)
      const whole = closed ? 'closed' : aggregate(pool.partitions.map((x) => x.state))
      if (whole === state) return
      state = whole
      listeners.emitState(whole)
    },
  })

  const controlReady = bounded(
    'subscribe to the control channel',
    command.subscribe(keys.control),
  ).catch((err: unknown) => {
    logger.error('cannot subscribe to the control channel', { err })
  })
  const onControl = (pubsubChannel: string, message: string) => {
    if (pubsubChannel !== keys.control) return
    try {
      const { v: _v, ...edit } = parseControl(message)
      listeners.emitEdit(edit)
    } catch (err) {
      logger.warn('ignored a malformed control message', { err: String(err) })
    }
  }
  command.on('message', onControl)
  const onCommandError = (err: Error) =>
    logger.warn('redis cluster command error', { err: err.message })
  if (ownsCommand) command.on('error', onCommandError)

  // The record of our count: made once (a refusal stays one), then kept alive.
  let recorded: Promise<void> | undefined
  let refresher: NodeJS.Timeout | undefined
  const record = (): Promise<void> => {
    recorded ??= bounded(
      'record the partition count',
      recordPartitions(command, keys.partitions, partitions),
    ).then(
      () => {
        refresher ??= setInterval(() => {
          recordPartitions(command, keys.partitions, partitions).catch((err: unknown) => {
            logger.error('cannot keep the record of the partition count', { err: String(err) })
          })
        }, PARTITIONS_RECORD_TTL / 3)
        refresher.unref()
      },
      (err: unknown) => {
        if (!isRedisseError(err, 'invalid-option')) recorded = undefined
        throw err
      },
    )
    return recorded
  }

  const tokens = createTokenAccess({ command, keys, publisher, bounded })
  const partitionBrokers: Broker[] = partitionKeys.map((k, p) => {
    const shard = pool.partitions[p]
    const reader = readers[p] as EnvelopeReader
    const own = partitionListeners[p] as ReturnType<typeof createBrokerListeners>
    if (!shard) throw new Error(`no subscriber for partition ${p}`)
    return {
      kind: 'redis',
      get state() {
        return shard.state
      },
      get droppedEnvelopes() {
        return reader.dropped
      },
      ready: () => shard.ready(READY_TIMEOUT),
      publish: (request) => broker.publish(request),
      ...createLogAccess({ command, keys: k, reader, bounded }),
      subscribe: (channel) => shard.subscribe(k.pubsub(channel)),
      unsubscribe: (channel) => shard.unsubscribe(k.pubsub(channel)),
      ...own.register,
      // Edits are the broker's, not a partition's.
      onSubjectEdit: () => {},
      resolveToken: (token) => broker.resolveToken(token),
      subjects: tokens.subjects,
      configureHistory: (history) => broker.configureHistory(history),
      close: () => broker.close(),
    }
  })

  const routed = (channel: string) => partitionBrokers[partitionOf(channel, partitions)] as Broker

  const broker: Broker = {
    kind: 'redis',
    get state() {
      return state
    },
    get droppedEnvelopes() {
      return readers.reduce((sum, r) => sum + r.dropped, 0)
    },
    get deafVerdicts() {
      return pool.deafVerdicts
    },
    get deafPartitions() {
      return pool.deafPartitions
    },
    partitions: partitionBrokers,
    async ready() {
      await Promise.all(pool.partitions.map((p) => p.ready(READY_TIMEOUT))).catch(
        (err: unknown) => {
          throw new RedisseError(
            'broker-unavailable',
            `cannot reach every master of the Redis Cluster within ${READY_TIMEOUT / 1000} s: check the redis.cluster option / REDIS_CLUSTER`,
            { cause: err },
          )
        },
      )
      await controlReady
      await record()
    },
    async publish(request) {
      return publisher.publish(request.channel, request.type, request.data, {
        ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
      })
    },
    // Not called on a partitioned broker (the server calls the partitions');
    // routed by channel for callers that do.
    subscribe: (channel) => routed(channel).subscribe(channel),
    unsubscribe: (channel) => routed(channel).unsubscribe(channel),
    head: () => (partitionBrokers[0] as Broker).head(),
    histories: (request) => {
      const first = request.channels[0]
      return (first === undefined ? (partitionBrokers[0] as Broker) : routed(first)).histories(
        request,
      )
    },
    onEnvelope(listener) {
      for (const own of partitionListeners) own.register.onEnvelope(listener)
    },
    onSubjectEdit: listeners.register.onSubjectEdit,
    onState: listeners.register.onState,
    ...tokens,
    async configureHistory(history) {
      await bounded(
        'store the history settings',
        Promise.all(
          partitionKeys.map((k) =>
            writeHistoryConfig(command.multi(), k.config, { ...history, partitions }).exec(),
          ),
        ),
      )
    },
    async close() {
      if (closed) return
      closed = true
      clearInterval(refresher)
      pool.close()
      command.off('message', onControl)
      await publisher.close()
      if (ownsCommand) {
        await quitWithin(command, timeout)
        command.off('error', onCommandError)
      } else {
        // A silent node never answers it: the close must end all the same.
        await bounded('unsubscribe the control channel', command.unsubscribe(keys.control)).catch(
          () => {},
        )
      }
    },
  }
  return broker
}
