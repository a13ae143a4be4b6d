import { createHash } from 'node:crypto'
import {
  createKeys,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PREFIX,
  type EventMap,
  formatControl,
  formatEventId,
  hashToken,
  isRedisseError,
  newEpoch,
  newToken,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  publishScriptArgs,
  RedisseError,
  validateChannel,
  validateSubject,
} from '@redisse/protocol'
import { Redis } from 'ioredis'
import { createOfflineQueue } from './createOfflineQueue'
import { prepareEvent } from './prepareEvent'
import type { PreparedEvent, Publisher, Subject } from './types'

/** Options of a publisher that talks to Redis directly. */
export interface RedisPublisherOptions {
  /** A `redis://` URL, or an ioredis instance (left open by `close()`). */
  redis: string | Redis
  /** Key prefix, the same as the servers'. @defaultValue 'redisse:' */
  prefix?: string
  /** History written by each publish (ttl in ms); false for none; absent → the servers' setting. */
  history?: { size: number; ttl: number } | false
  /** Largest `data`, JSON text in UTF-8 bytes. @defaultValue 65536 */
  maxPayloadBytes?: number
  /** How long a publish waits for an unreachable Redis, ms. @defaultValue 5000 */
  publishTimeout?: number
  /** Most publishes waiting for Redis at once. @defaultValue 10000 */
  maxQueued?: number
}

const SCRIPT_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')

function inFlightError(cause: unknown): RedisseError {
  return new RedisseError(
    'publish-failed',
    'the connection to Redis failed while publishing: the event may or may not have been published (pass idempotencyKey to make retries safe)',
    { cause },
  )
}

/** Publisher over Redis: one script round trip per publish. */
export function createRedisTransport<Events extends EventMap>(
  options: RedisPublisherOptions,
): Publisher<Events> {
  const keys = createKeys(options.prefix ?? DEFAULT_PREFIX)
  const owned = typeof options.redis === 'string'
  // Our own queue replaces ioredis' unbounded offline queue.
  const redis =
    typeof options.redis === 'string'
      ? new Redis(options.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : options.redis
  if (owned) redis.on('error', () => {})
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  const history = options.history === false ? { size: 0, ttl: 0 } : options.history
  const queue = createOfflineQueue({
    max: options.maxQueued ?? 10_000,
    timeout: options.publishTimeout ?? 5000,
  })
  let closed = false
  const onReady = () => queue.release()
  redis.on('ready', onReady)

  const whenReady = async (): Promise<void> => {
    if (closed) throw new RedisseError('closed', 'publisher is closed: create a new one')
    if (redis.status !== 'ready') await queue.wait()
  }

  const run = async <T>(command: () => Promise<T>): Promise<T> => {
    await whenReady()
    try {
      return await command()
    } catch (err) {
      if (isRedisseError(err)) throw err
      throw inFlightError(err)
    }
  }

  const send = (event: PreparedEvent): Promise<string> =>
    run(async () => {
      const call = publishScriptArgs(
        keys,
        { channel: event.channel, type: event.type, data: event.json },
        { epoch: newEpoch(), history, idempotencyKey: event.idempotencyKey },
      )
      let cursor: unknown
      try {
        cursor = await redis.evalsha(
          SCRIPT_SHA,
          PUBLISH_SCRIPT_KEY_COUNT,
          ...call.keys,
          ...call.args,
        )
      } catch (err) {
        if (!String(err).includes('NOSCRIPT')) throw err
        cursor = await redis.eval(
          PUBLISH_SCRIPT,
          PUBLISH_SCRIPT_KEY_COUNT,
          ...call.keys,
          ...call.args,
        )
      }
      return formatEventId(String(cursor), event.channel)
    })

  const subject = (rawId: string): Subject => {
    const id = validateSubject(rawId)
    return {
      id,
      async generateToken(opts = {}) {
        if (opts.ttl !== undefined && (!Number.isSafeInteger(opts.ttl) || opts.ttl <= 0)) {
          throw new RedisseError('invalid-request', 'ttl must be a positive integer of ms')
        }
        const token = newToken()
        const hash = await hashToken(token)
        await run(() => {
          const tx = redis.multi()
          if (opts.ttl === undefined) tx.set(keys.token(hash), id)
          else tx.set(keys.token(hash), id, 'PX', opts.ttl)
          return tx.sadd(keys.subjectTokens(id), hash).exec()
        })
        return token
      },
      async addChannel(channel) {
        validateChannel(channel)
        const result = await run(() =>
          redis
            .multi()
            .sadd(keys.subjectChannels(id), channel)
            .publish(keys.control, formatControl({ v: 1, op: 'add', subject: id, channel }))
            .exec(),
        )
        return result?.[0]?.[1] === 1
      },
      async removeChannel(channel) {
        validateChannel(channel)
        const result = await run(() =>
          redis
            .multi()
            .srem(keys.subjectChannels(id), channel)
            .publish(keys.control, formatControl({ v: 1, op: 'remove', subject: id, channel }))
            .exec(),
        )
        return result?.[0]?.[1] === 1
      },
      async channels() {
        return (await run(() => redis.smembers(keys.subjectChannels(id)))).sort()
      },
      async clear() {
        await run(async () => {
          const hashes = await redis.smembers(keys.subjectTokens(id))
          const tx = redis.multi()
          for (const hash of hashes) tx.del(keys.token(hash))
          return tx
            .del(keys.subjectTokens(id), keys.subjectChannels(id))
            .publish(keys.control, formatControl({ v: 1, op: 'clear', subject: id }))
            .exec()
        })
      },
    }
  }

  return {
    publish(channel, type, data, opts = {}) {
      try {
        return send(prepareEvent(channel, type, data, opts.idempotencyKey, maxPayloadBytes))
      } catch (err) {
        return Promise.reject(err)
      }
    },
    async publishMany(events) {
      const prepared = events.map((e) =>
        prepareEvent(e.channel, e.type, e.data, e.idempotencyKey, maxPayloadBytes),
      )
      const ids: string[] = []
      for (const event of prepared) ids.push(await send(event))
      return ids
    },
    subject,
    async close() {
      if (closed) return
      closed = true
      redis.off('ready', onReady)
      queue.rejectAll(
        new RedisseError(
          'closed',
          'publisher closed before Redis came back: the event was not published',
        ),
      )
      if (owned) await redis.quit().catch(() => redis.disconnect())
    },
  }
}
