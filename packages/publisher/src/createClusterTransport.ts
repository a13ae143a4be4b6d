import { createHash } from 'node:crypto'
import {
  createKeys,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PREFIX,
  type EventMap,
  formatEventId,
  integerOption,
  newEpoch,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  type PublishScriptCall,
  partitionOf,
  partitionPrefix,
  publishScriptArgs,
  quitWithin,
  type RedisKeys,
  RedisseError,
} from '@redisse/protocol'
import type { Cluster } from 'ioredis'
import { batchEventIds } from './batchEventIds'
import { createClusterSubject } from './createClusterSubject'
import { createPartitionsCheck } from './createPartitionsCheck'
import { createRedisGate } from './createRedisGate'
import { historyOption, type RedisPublisherOptions } from './createRedisTransport'
import { openCluster, type RedisClusterOptions } from './openCluster'
import type { Publisher } from './Publisher'
import { type PreparedEvent, prepareEvent } from './prepareEvent'

/** Name of the publish script's command on the ioredis client. */
const PUBLISH_COMMAND = 'redissePublish'
const PUBLISH_SCRIPT_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')

type ScriptArgs = [...PublishScriptCall['keys'], ...PublishScriptCall['args']]
interface WithPublishCommand {
  redissePublish(...args: ScriptArgs): Promise<unknown>
}

/**
 * Publisher over Redis Cluster. The log is split in P partitions (channel →
 * partition by FNV-1a, `partitionOf`); each publish runs the publish script
 * on the keys of its channel's partition, which share one hash tag, and
 * SPUBLISHes to that partition's sharded channel: one slot, one node, one
 * round trip. Subject keys carry their own tag (`createKeys(prefix, { cluster:
 * true })`); subject edits are announced by plain PUBLISH.
 */
export function createClusterTransport<Events extends EventMap>(
  options: Omit<RedisPublisherOptions, 'redis'> & { redis: RedisClusterOptions | Cluster },
): Publisher<Events> {
  if (typeof options.prefix !== 'string' && options.prefix !== undefined) {
    throw new RedisseError('invalid-option', 'prefix must be a string, e.g. "redisse:"')
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX
  const keys = createKeys(prefix, { cluster: true })
  const history = historyOption(options.history)
  const maxPayloadBytes = integerOption(
    'maxPayloadBytes',
    options.maxPayloadBytes,
    1,
    DEFAULT_MAX_PAYLOAD_BYTES,
  )
  const publishTimeout = integerOption('publishTimeout', options.publishTimeout, 1, 5000)
  const maxQueued = integerOption('maxQueued', options.maxQueued, 0, 10_000)
  const { cluster, owned, partitions } = openCluster(options.redis)
  const partitionKeys: RedisKeys[] = Array.from({ length: partitions }, (_, p) =>
    createKeys(partitionPrefix(prefix, p, partitions)),
  )
  const keysOf = (channel: string): RedisKeys =>
    partitionKeys[partitionOf(channel, partitions)] as RedisKeys
  const partitionsCheck = createPartitionsCheck(cluster, keys.partitions, partitions)
  /** Runs a publish once our partition count is the servers'; a failure forgets the reading. */
  const checked = async <T>(publish: () => Promise<T>): Promise<T> => {
    await partitionsCheck.check()
    try {
      return await publish()
    } catch (err) {
      partitionsCheck.forget()
      throw err
    }
  }

  let lastError: unknown
  if (owned) {
    // Connection errors surface as the cause of failed publishes, never as logs.
    const remember = (err: unknown) => {
      lastError = err
    }
    cluster.on('error', remember)
    cluster.on('node error', remember)
    cluster.on('ready', () => {
      lastError = undefined
    })
  }
  cluster.defineCommand(PUBLISH_COMMAND, {
    numberOfKeys: PUBLISH_SCRIPT_KEY_COUNT,
    lua: PUBLISH_SCRIPT,
  })
  const client = cluster as Cluster & WithPublishCommand
  const gate = createRedisGate(cluster, {
    publishTimeout,
    maxQueued,
    // Ours has no offline queue: what was in flight when the whole cluster
    // went away is not sent again.
    failInFlightOnClose: owned,
    lastError: () => lastError,
  })

  const scriptArgs = (event: PreparedEvent): ScriptArgs => {
    const call = publishScriptArgs(
      keysOf(event.channel),
      { channel: event.channel, type: event.type, data: event.json },
      {
        epoch: newEpoch(),
        history,
        idempotencyKey: event.idempotencyKey,
        sharded: true,
        partitions,
      },
    )
    return [...call.keys, ...call.args]
  }

  /** One MULTI of publish scripts, all in one partition's slot. */
  const publishGroup = async (group: readonly PreparedEvent[]) => {
    const tx = cluster.multi()
    // The first event goes as EVAL, which loads the script on that node for
    // the EVALSHAs after it: a NOSCRIPT inside a transaction could not be retried.
    group.forEach((event, i) => {
      if (i === 0) tx.eval(PUBLISH_SCRIPT, PUBLISH_SCRIPT_KEY_COUNT, ...scriptArgs(event))
      else tx.evalsha(PUBLISH_SCRIPT_SHA, PUBLISH_SCRIPT_KEY_COUNT, ...scriptArgs(event))
    })
    const replies = await tx.exec()
    if (!replies) throw new Error('the MULTI transaction was aborted')
    return replies
  }

  return {
    async publish(channel, type, data, publishOptions = {}) {
      const event = prepareEvent(
        { channel, type, data, idempotencyKey: publishOptions.idempotencyKey },
        maxPayloadBytes,
      )
      const cursor = await gate.run('publish', () =>
        checked(() => client.redissePublish(...scriptArgs(event))),
      )
      return formatEventId(String(cursor), event.channel)
    },

    async publishMany(events) {
      const prepared = events.map((event) => prepareEvent(event, maxPayloadBytes))
      if (prepared.length === 0) return []
      // A transaction cannot span slots: one per partition, each in the
      // batch's order, so every channel keeps its events in order.
      const groups = new Map<number, number[]>()
      prepared.forEach((event, i) => {
        const p = partitionOf(event.channel, partitions)
        const group = groups.get(p)
        if (group) group.push(i)
        else groups.set(p, [i])
      })
      const results = new Array<[Error | null, unknown]>(prepared.length)
      await gate.run('publish', () =>
        checked(async () => {
          const settled = await Promise.allSettled(
            [...groups.values()].map(async (indexes) => {
              const replies = await publishGroup(indexes.map((i) => prepared[i] as PreparedEvent))
              indexes.forEach((index, j) => {
                results[index] = replies[j] ?? [new Error('no reply'), null]
              })
            }),
          )
          const failed = settled.find((s) => s.status === 'rejected')
          if (!failed) return
          if (groups.size === 1) throw failed.reason
          const reason =
            failed.reason instanceof Error ? failed.reason.message : String(failed.reason)
          throw new RedisseError(
            'publish-failed',
            `a transaction of the batch failed: ${reason}; the batch spans ${groups.size} partitions, each its own transaction, so some of its events may have been published: pass idempotencyKey to make retries safe`,
            { cause: failed.reason },
          )
        }),
      )
      return batchEventIds(prepared, results)
    },

    subject(id) {
      return createClusterSubject(id, { cluster, keys, keysOf, gate })
    },

    async close() {
      gate.close()
      if (!owned || cluster.status === 'end') return
      await quitWithin(cluster, publishTimeout)
    },
  }
}
