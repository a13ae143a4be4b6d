import { randomUUID } from 'node:crypto'
import {
  createKeys,
  type Envelope,
  EPOCH_PATTERN,
  formatEnvelope,
  formatHistoryRules,
  hashToken,
  parseControl,
  parseEnvelope,
  REPLACE_EPOCH_SCRIPT,
  RedisseError,
} from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from '../createLogger'
import { historyCovers } from '../historyCoverage'
import type { Broker, BrokerState } from './Broker'
import { createBrokerListeners } from './createBrokerListeners'
import { createCanaryProbe, type ProbeOptions } from './createCanaryProbe'

/** Options of the Redis broker. */
export interface RedisBrokerOptions {
  /**
   * A `redis://`/`rediss://` URL or ioredis options (Sentinel, TLS…) for
   * connections the broker opens and closes, or an ioredis instance it will
   * not close.
   */
  redis: string | Redis | RedisOptions
  prefix: string
  logger: Logger
  /** How long a publish waits for Redis to come back before failing, in ms. */
  publishTimeout?: number
  /** Canary probe of the subscriber connection, or false for none. */
  probe?: ProbeOptions | false
}

// Duck-typed so an instance from another copy of ioredis is accepted too.
function isIoredis(value: unknown): value is Redis {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Redis).duplicate === 'function' &&
    typeof (value as Redis).status === 'string'
  )
}

function openCommand(redis: string | RedisOptions): Redis {
  const ours = {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    // A publish whose reply was lost may have run: resending it blindly
    // could append it twice, so it fails and the caller decides.
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions
  if (typeof redis === 'string') return new Redis(redis, ours)
  // Replies are read in ioredis' default (legacy) shape.
  const { replyMapping: _ignored, ...connection } = redis
  return new Redis({ ...connection, ...ours })
}

/**
 * The Redis broker: ONE subscriber connection per server node multiplexing
 * every channel (the server reference-counts), one command connection for
 * publishes (through `@redisse/publisher`, so the publish script and its
 * bounded queue exist once) and token lookups.
 */
export function createRedisBroker(options: RedisBrokerOptions): Broker {
  const { logger } = options
  const keys = createKeys(options.prefix)
  const given = options.redis
  const ownsCommand = !isIoredis(given)
  const command = isIoredis(given) ? given : openCommand(given)
  // The subscriber keeps its own offline queue: SUBSCRIBE issued while
  // Redis is away is sent on reconnect, and ioredis resubscribes the rest.
  const subscriber = command.duplicate({
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
  })
  const publisher: Publisher = createPublisher({
    redis: command,
    prefix: options.prefix,
    ...(options.publishTimeout === undefined ? {} : { publishTimeout: options.publishTimeout }),
  })

  let state: BrokerState = 'connecting'
  const listeners = createBrokerListeners()
  const setState = (next: BrokerState) => {
    if (state === next || state === 'closed') return
    state = next
    listeners.emitState(next)
  }

  const probeChannel = keys.probe(randomUUID())
  const probe =
    options.probe === false
      ? undefined
      : createCanaryProbe({
          settings: options.probe ?? { interval: 2000, timeout: 2000 },
          publish: (token) => command.publish(probeChannel, token),
          onDead: (reason, commandAnswered) => {
            logger.warn('redis subscriber connection is unresponsive: reconnecting', { reason })
            setState('reconnecting')
            subscriber.disconnect(true)
            if (!commandAnswered && ownsCommand) command.disconnect(true)
          },
        })

  const controlReady = subscriber.subscribe(keys.control, probeChannel).catch((err: unknown) => {
    logger.error('cannot subscribe to the control channel', { err })
  })
  // 'ready' comes before the resubscriptions are confirmed; a PING answered
  // on the same connection proves they are, so recovery reads history only
  // once live events flow again.
  subscriber.on('ready', () => {
    subscriber.ping().then(
      () => {
        setState('ready')
        probe?.resume()
      },
      () => {},
    )
  })
  subscriber.on('reconnecting', () => {
    probe?.pause()
    setState('reconnecting')
  })
  subscriber.on('end', () => setState('closed'))
  subscriber.on('error', (err: Error) =>
    logger.warn('redis subscriber error', { err: err.message }),
  )
  if (ownsCommand) {
    command.on('error', (err: Error) => logger.warn('redis command error', { err: err.message }))
  }
  subscriber.on('message', (pubsubChannel: string, message: string) => {
    if (pubsubChannel === probeChannel) {
      probe?.heard(message)
      return
    }
    if (pubsubChannel === keys.control) {
      try {
        const { v: _v, ...edit } = parseControl(message)
        listeners.emitEdit(edit)
      } catch (err) {
        logger.warn('ignored a malformed control message', { err: String(err) })
      }
      return
    }
    let envelope: Envelope
    try {
      envelope = parseEnvelope(message)
    } catch (err) {
      logger.warn('ignored a malformed envelope', { channel: pubsubChannel, err: String(err) })
      return
    }
    listeners.emitEnvelope(envelope)
  })

  return {
    kind: 'redis',
    get state() {
      return state
    },
    async ready() {
      if (subscriber.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () =>
              reject(
                new RedisseError(
                  'broker-unavailable',
                  'cannot reach Redis within 10 s: check the redis option / REDIS_URL',
                ),
              ),
            10_000,
          )
          subscriber.once('ready', () => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      await controlReady
    },
    async publish(request) {
      return publisher.publish(request.channel, request.type, request.data, {
        ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
      })
    },
    async head() {
      const [epoch, seq] = await command.mget(keys.epoch, keys.seq)
      return { epoch: epoch ?? undefined, seq: Number(seq ?? 0) }
    },
    async histories(channels, afterSeq) {
      if (channels.length === 0) return []
      // One MULTI: metadata and events of every channel at the same instant.
      const multi = command.multi()
      for (const channel of channels) {
        multi
          .hmget(keys.historyMeta(channel), 'last', 'since')
          .exists(keys.history(channel))
          .zrangebyscore(keys.history(channel), `(${afterSeq}`, '+inf')
      }
      const results = await multi.exec()
      if (!results) throw new Error('history read aborted')
      const failed = results.find((r) => r[0])
      if (failed) throw failed[0]
      return channels.map((channel, i) => {
        const [last, since] = (results[i * 3]?.[1] ?? [null, null]) as [
          string | null,
          string | null,
        ]
        const covered = historyCovers(
          {
            last: last === null ? undefined : Number(last),
            since: Number(since ?? 0),
            exists: results[i * 3 + 1]?.[1] === 1,
          },
          afterSeq,
        )
        const envelopes: Envelope[] = []
        for (const raw of (results[i * 3 + 2]?.[1] ?? []) as string[]) {
          try {
            envelopes.push(parseEnvelope(raw))
          } catch (err) {
            logger.warn('skipped a malformed envelope in history', { channel, err: String(err) })
          }
        }
        return { covered, envelopes }
      })
    },
    async holds(envelope) {
      const seq = String(envelope.id.slice(envelope.id.lastIndexOf('-') + 1))
      const history = keys.history(envelope.channel)
      const results = await command
        .multi()
        .hget(keys.historyMeta(envelope.channel), 'last')
        .zrangebyscore(history, seq, seq)
        .zrange(history, '0', '0', 'WITHSCORES')
        .exec()
      if (!results) throw new Error('history read aborted')
      const failed = results.find((r) => r[0])
      if (failed) throw failed[0]
      const last = results[0]?.[1] as string | null
      const atSeq = (results[1]?.[1] ?? []) as string[]
      const oldest = (results[2]?.[1] ?? []) as string[]
      if (atSeq.length > 0) return atSeq.includes(formatEnvelope(envelope))
      // Missing although the channel's log ends before it or its held
      // window spans its place. (An event published with a history size of
      // 0 among held ones looks the same: a needless reset, never a loss.)
      if (last !== null && Number(last) < Number(seq)) return false
      if (oldest[1] !== undefined && Number(oldest[1]) <= Number(seq)) return false
      return undefined
    },
    async replaceEpoch(from, to) {
      const reply = await command.eval(REPLACE_EPOCH_SCRIPT, 2, keys.epoch, keys.seq, from, to)
      const [epoch, seq] = (Array.isArray(reply) ? reply : []) as unknown[]
      // Whatever else sits in those keys is not a log to follow.
      if (typeof epoch !== 'string' || (epoch !== '' && !EPOCH_PATTERN.test(epoch))) {
        throw new Error(`the epoch key holds ${JSON.stringify(String(epoch).slice(0, 40))}`)
      }
      if (!Number.isSafeInteger(Number(seq))) throw new Error('the sequence key holds no integer')
      return { epoch: epoch === '' ? undefined : epoch, seq: Number(seq) }
    },
    async subscribe(channel) {
      await subscriber.subscribe(keys.pubsub(channel))
    },
    async unsubscribe(channel) {
      await subscriber.unsubscribe(keys.pubsub(channel))
    },
    ...listeners.register,
    async resolveToken(token) {
      const subject = await command.get(keys.token(await hashToken(token)))
      if (!subject) return undefined
      const channels = await command.smembers(keys.subjectChannels(subject))
      return { subject, channels: channels.sort() }
    },
    subjects: {
      generateToken: (subject, opts = {}) =>
        publisher.subject(subject).generateToken(opts.ttl === undefined ? {} : { ttl: opts.ttl }),
      addChannel: (subject, channel) => publisher.subject(subject).addChannel(channel),
      removeChannel: (subject, channel) => publisher.subject(subject).removeChannel(channel),
      channels: (subject) => publisher.subject(subject).channels(),
      clear: (subject) => publisher.subject(subject).clear(),
    },
    async configureHistory(history) {
      const write = command.multi().hset(keys.config, {
        historySize: String(history.size),
        historyTtl: String(history.ttl),
      })
      if (history.rules.length > 0) {
        write.hset(keys.config, 'historyRules', formatHistoryRules(history.rules))
      } else {
        write.hdel(keys.config, 'historyRules')
      }
      await write.exec()
    },
    async close() {
      probe?.stop()
      setState('closed')
      await publisher.close()
      subscriber.disconnect()
      if (ownsCommand) await command.quit().catch(() => command.disconnect())
    },
  }
}
