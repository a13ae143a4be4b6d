import { createHash } from 'node:crypto'
import {
  createKeys,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PREFIX,
  type EventMap,
  formatEventId,
  integerOption,
  isIoredis,
  isIoredisCluster,
  newEpoch,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  type PublishScriptCall,
  publishScriptArgs,
  quitWithin,
  RedisseError,
} from '@redisse/protocol'
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { batchEventIds } from './batchEventIds'
import { createRedisGate } from './createRedisGate'
import { createRedisSubject } from './createRedisSubject'
import type { RedisClusterOptions } from './openCluster'
import type { Publisher } from './Publisher'
import { type PreparedEvent, prepareEvent } from './prepareEvent'

/** Options of a publisher that talks to Redis directly. */
export interface RedisPublisherOptions {
  /**
   * A `redis://` (or TLS `rediss://`) URL or ioredis options (Sentinel:
   * `{ sentinels: [{ host, port }], name: 'mymaster' }`; TLS: `{ tls: { ca } }`):
   * the publisher opens and closes its own connection. Or an ioredis
   * instance (used as is, never closed by the publisher; it must not have a
   * `keyPrefix`: use `prefix`). On Redis Cluster: `{ cluster: [url, …],
   * partitions?, …ClusterOptions }`, or an ioredis `Cluster` instance (see
   * {@link RedisClusterOptions}).
   */
  redis: string | Redis | RedisOptions | RedisClusterOptions | Cluster
  /**
   * Prefix of every Redis key and pub/sub channel: the same as the servers'.
   * @defaultValue `'redisse:'`
   */
  prefix?: string | undefined
  /**
   * History each publish writes for its channel: the last `size` events,
   * expiring `ttl` ms after the channel's latest publish (0: no expiry); or
   * `false` to write none. Absent: what the servers stored in Redis (their `history`
   * option), else `{ size: 1000, ttl: 3600000 }`.
   */
  history?: { size: number; ttl: number } | false | undefined
  /**
   * Largest payload, as JSON text in UTF-8 bytes.
   * @defaultValue 65536
   */
  maxPayloadBytes?: number | undefined
  /**
   * How long a publish may wait for an unreachable Redis, and then for its
   * answer once sent, in ms.
   * @defaultValue 5000
   */
  publishTimeout?: number | undefined
  /**
   * Most publishes waiting for an unreachable Redis at once; beyond it a
   * publish fails at once with `broker-unavailable`. A batch counts as one.
   * @defaultValue 10000
   */
  maxQueued?: number | undefined
}

/** Name of the publish script's command on the ioredis client. */
const PUBLISH_COMMAND = 'redissePublish'
const PUBLISH_SCRIPT_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')

type ScriptArgs = [...PublishScriptCall['keys'], ...PublishScriptCall['args']]
/** The command `defineCommand` adds to the client (named after PUBLISH_COMMAND). */
interface WithPublishCommand {
  redissePublish(...args: ScriptArgs): Promise<unknown>
}

/** Reads the `history` option: `undefined` leaves history to the servers' config. */
export function historyOption(
  history: RedisPublisherOptions['history'],
): { size: number; ttl: number } | undefined {
  if (history === undefined) return undefined
  if (history === false) return { size: 0, ttl: 0 }
  if (typeof history !== 'object' || history === null) {
    throw new RedisseError(
      'invalid-option',
      'history must be { size, ttl } (ttl in ms), or false for none',
    )
  }
  return {
    size: integerOption('history.size', history.size, 0),
    ttl: integerOption('history.ttl', history.ttl, 0),
  }
}

/**
 * Publisher over Redis. Each publish is one round trip running protocol's
 * publish script (EVALSHA, falling back to EVAL, through ioredis
 * `defineCommand`); a batch is one MULTI of them. While Redis is
 * unreachable, operations wait in a bounded queue (see `createRedisGate`).
 */
export function createRedisTransport<Events extends EventMap>(
  options: Omit<RedisPublisherOptions, 'redis'> & { redis: string | Redis | RedisOptions },
): Publisher<Events> {
  if (typeof options.prefix !== 'string' && options.prefix !== undefined) {
    throw new RedisseError('invalid-option', 'prefix must be a string, e.g. "redisse:"')
  }
  const keys = createKeys(options.prefix ?? DEFAULT_PREFIX)
  const history = historyOption(options.history)
  const maxPayloadBytes = integerOption(
    'maxPayloadBytes',
    options.maxPayloadBytes,
    1,
    DEFAULT_MAX_PAYLOAD_BYTES,
  )
  const publishTimeout = integerOption('publishTimeout', options.publishTimeout, 1, 5000)
  const maxQueued = integerOption('maxQueued', options.maxQueued, 0, 10_000)

  let redis: Redis
  let lastError: unknown
  const given = options.redis
  if (isIoredisCluster<Cluster>(given)) {
    throw new RedisseError(
      'invalid-option',
      'redis is an ioredis Cluster: createPublisher runs it through its cluster transport (createRedisTransport takes a standalone Redis only)',
    )
  }
  const owned = !isIoredis<Redis>(given)
  if (given === '' || given === null || (typeof given !== 'object' && typeof given !== 'string')) {
    throw new RedisseError(
      'invalid-option',
      'redis must be a redis:// URL, ioredis options or an ioredis instance',
    )
  }
  const keyPrefix = isIoredis<Redis>(given)
    ? given.options.keyPrefix
    : typeof given === 'object'
      ? given.keyPrefix
      : undefined
  if (keyPrefix) {
    throw new RedisseError(
      'invalid-option',
      `redis has keyPrefix "${keyPrefix}", which would not apply to pub/sub channels: drop keyPrefix and set the prefix option instead`,
    )
  }
  if (isIoredis<Redis>(given)) {
    redis = given
  } else {
    const ours = {
      // The gate below is the only queue: bounded, with a deadline per publish.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A command in flight when the connection drops fails (publish-failed)
      // instead of being sent again, maybe twice, after the caller gave up.
      autoResendUnfulfilledCommands: false,
    } satisfies RedisOptions
    if (typeof given === 'string') {
      redis = new Redis(given, ours)
    } else {
      // Replies are read in ioredis' default (legacy) shape.
      const { replyMapping: _ignored, ...connection } = given
      redis = new Redis({ ...connection, ...ours })
    }
    // Connection errors surface as the cause of failed publishes, never as logs.
    redis.on('error', (err: unknown) => {
      lastError = err
    })
    redis.on('ready', () => {
      lastError = undefined
    })
  }
  redis.defineCommand(PUBLISH_COMMAND, {
    numberOfKeys: PUBLISH_SCRIPT_KEY_COUNT,
    lua: PUBLISH_SCRIPT,
  })
  const client = redis as Redis & WithPublishCommand

  const gate = createRedisGate(redis, {
    publishTimeout,
    maxQueued,
    failInFlightOnClose: redis.options.autoResendUnfulfilledCommands === false,
    lastError: () => lastError,
  })

  const scriptArgs = (event: PreparedEvent): ScriptArgs => {
    const call = publishScriptArgs(
      keys,
      { channel: event.channel, type: event.type, data: event.json },
      { epoch: newEpoch(), history, idempotencyKey: event.idempotencyKey },
    )
    return [...call.keys, ...call.args]
  }

  return {
    async publish(channel, type, data, publishOptions = {}) {
      const event = prepareEvent(
        { channel, type, data, idempotencyKey: publishOptions.idempotencyKey },
        maxPayloadBytes,
      )
      const cursor = await gate.run('publish', () => client.redissePublish(...scriptArgs(event)))
      return formatEventId(String(cursor), event.channel)
    },

    async publishMany(events) {
      const prepared = events.map((event) => prepareEvent(event, maxPayloadBytes))
      if (prepared.length === 0) return []
      const results = await gate.run('publish', async () => {
        const tx = client.multi()
        // The first event goes as EVAL, which loads the script for the EVALSHAs
        // after it: a NOSCRIPT inside a transaction could not be retried in place.
        prepared.forEach((event, i) => {
          if (i === 0) tx.eval(PUBLISH_SCRIPT, PUBLISH_SCRIPT_KEY_COUNT, ...scriptArgs(event))
          else tx.evalsha(PUBLISH_SCRIPT_SHA, PUBLISH_SCRIPT_KEY_COUNT, ...scriptArgs(event))
        })
        const replies = await tx.exec()
        if (!replies) throw new Error('the MULTI transaction was aborted')
        return replies
      })
      return batchEventIds(prepared, results)
    },

    subject(id) {
      return createRedisSubject(id, { redis, keys, gate })
    },

    async close() {
      gate.close()
      if (!owned || redis.status === 'end') return
      await quitWithin(redis, publishTimeout)
    },
  }
}
