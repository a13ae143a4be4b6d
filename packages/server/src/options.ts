import type { IncomingMessage } from 'node:http'
import {
  DEFAULT_HISTORY,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PREFIX,
  globToRegExp,
  type HistoryRule,
  integerOption,
  RedisseError,
  validateHistoryPattern,
} from '@redisse/protocol'
import type { RedisClusterOptions } from '@redisse/publisher'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { PerMessageDeflateOptions } from 'ws'
import { adaptLogger, type PinoLikeLogger } from './adaptLogger'
import type { Broker } from './broker/Broker'
import type { TrustProxy } from './clientAddressOf'
import { type CorsOptions, validateCors } from './cors'
import { createLogger, type Logger, type LogLevel } from './createLogger'
import type { PollSettings } from './PollConnection'
import type { PushHandler } from './PushHandler'
import type { PromRegistry } from './registerPromMetrics'
import type { AmqpOptions } from './startAmqpIngest'

/** Decides which channels a request may hear (Redisse's model). */
export type ChannelsCallback = (
  req: IncomingMessage,
) => Iterable<string> | Promise<Iterable<string>>

/** Which `?channel=` names public mode accepts. */
export type PublicChannels = true | string[] | RegExp | ((channel: string) => boolean)

/** Limits that keep one node safe under load. */
export interface Limits {
  /** Open streams per node; beyond, 503 with Retry-After. @defaultValue 10000 */
  connections?: number
  /** Open streams per subject (token mode); beyond, 429. @defaultValue 20 */
  connectionsPerSubject?: number
  /** Channels one stream may hear. @defaultValue 100 */
  channelsPerConnection?: number
  /** Bytes queued to one slow client before it is disconnected. @defaultValue 262144 */
  bufferBytes?: number
  /** Largest `data` of one publish, JSON text in UTF-8 bytes. @defaultValue 65536 */
  payloadBytes?: number
  /** Largest request body of the HTTP API. @defaultValue 1048576 */
  bodyBytes?: number
  /**
   * Open streams per client address (see `trustProxy` behind a proxy);
   * beyond, 429 with Retry-After. Off by default: many users can share one
   * address (offices, mobile carriers).
   * @defaultValue Infinity (off)
   */
  connectionsPerIp?: number
  /**
   * How long a stream may take none of its backlog while history is
   * replayed to it before it is cut off as a slow client, ms.
   * @defaultValue 30000
   */
  stallTimeout?: number
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /**
   * Redis: a `redis://` or TLS `rediss://` URL, ioredis options (Sentinel:
   * `{ sentinels: [{ host, port }], name: 'mymaster' }`, TLS: `{ host, port,
   * tls: { ca } }`), or an ioredis instance (left open on close). Absent →
   * the embedded in-process broker.
   *
   * Redis Cluster (or Valkey Cluster): `{ cluster: ['redis://10.0.0.1:7000',
   * …], partitions?: 16 }` (some nodes; the others are discovered), or an
   * ioredis `Cluster` (left open). The log is then split in `partitions`
   * (1 to 16), which publishers must match; see docs/scaling.md.
   */
  redis?: string | Redis | RedisOptions | RedisClusterOptions | Cluster
  /** A ready broker (tests, custom buses); wins over `redis`. */
  broker?: Broker
  /** Prefix of every Redis key. @defaultValue 'redisse:' */
  prefix?: string
  /** App callback deciding the channels of each request. */
  channels?: ChannelsCallback
  /** Token mode: `?access_token=`, `Authorization: Bearer` or a cookie. */
  tokens?: boolean | { cookie?: string }
  /**
   * Public channels by `?channel=`, limited to a list, pattern or predicate.
   * In a list, `*` matches within one `:`-separated segment and `**` across
   * segments: `'room:*'` allows `room:42` but not `room:42:private`.
   */
  public?: PublicChannels
  cors?: CorsOptions
  /** Keep-alive comment interval, ms. @defaultValue 15000 */
  keepAlive?: number
  /** `retry:` sent to clients, ms. @defaultValue 5000 */
  retry?: number
  /**
   * History per channel (ttl in ms, 0 = no expiry), or false for none.
   * `overrides` maps channel globs (`*` wildcard) to other settings, or to
   * false for no history; the first matching pattern, in the order written,
   * wins, e.g. `{ 'typing:*': false, 'audit:*': { size: 100000 } }`.
   * @defaultValue { size: 1000, ttl: 3600000 }
   */
  history?:
    | {
        size?: number
        ttl?: number
        overrides?: Record<string, { size?: number; ttl?: number } | false>
      }
    | false
  /** Enables `POST /publish` and the subject endpoints with this bearer key. */
  publishKey?: string
  /**
   * Serves `/stats` and `/metrics` to requests with `Authorization: Bearer
   * <statsKey>`. Without a key (and without `stats: 'public'`) both paths
   * are off: `/stats` names channels, so user ids and private rooms.
   */
  statsKey?: string
  /**
   * `'public'` serves `/stats` and `/metrics` to anyone (a port only your
   * monitoring reaches); `false` turns them off even with a `statsKey`
   * unset. `/healthz` is always served.
   * @defaultValue off, or protected by `statsKey` when it is set
   */
  stats?: 'public' | false
  /**
   * Believe `X-Forwarded-For` for the client address (used by
   * `limits.connectionsPerIp`): `true` when every request comes through
   * your proxy, or the list of your proxies' addresses. Never set it on a
   * port clients reach directly: they could pose as any address.
   * @defaultValue false
   */
  trustProxy?: TrustProxy
  limits?: Limits
  /** Send the channel name as the event type (Sinapse's `SINAPSE_CHANNEL_EVENT`). */
  channelAsEvent?: boolean
  /** How long a publish waits for Redis to come back, ms. @defaultValue 5000 */
  publishTimeout?: number
  /**
   * How long `listen()` waits for the broker (Redis) at start before it
   * rejects with `broker-unavailable`, ms. The CLI's `--redis-timeout`.
   * @defaultValue 30000
   */
  redisTimeout?: number
  /**
   * Canary probe of the Redis subscriber connection: every `interval` ms the
   * node publishes to its own probe channel and must hear it within
   * `timeout` ms, else it reconnects (a half-open or stalled connection would
   * otherwise lose events silently) and `/healthz` answers 503 meanwhile.
   * `false` turns it off. Ignored on the embedded broker.
   * @defaultValue { interval: 2000, timeout: 2000 }
   */
  probe?: { interval?: number; timeout?: number } | false
  /**
   * A logger: `(message, fields)` methods, or a pino logger as it is
   * (`logger: pino()`); or the level of the built-in JSON-lines logger.
   * @defaultValue 'warn'
   */
  logger?: Logger | PinoLikeLogger | LogLevel
  /**
   * Also expose the metrics of `/metrics` through the host app's prom-client
   * registry (`metrics: { registry: register }`): read at each scrape, next
   * to prom-client's own process and event-loop metrics. `/metrics` stays.
   */
  metrics?: { registry: PromRegistry }
  /** Consume events from RabbitMQ (or any AMQP 0-9-1 broker) and publish them. */
  amqp?: AmqpOptions
  /** `GET /poll`: `wait` (ms, default 25000), `maxEvents` per answer (500), `maxBytes` per answer (262144), `coalesce` (ms, 25). */
  poll?: Partial<PollSettings>
  /** App callbacks on every connection (SSE, WebSocket, poll). */
  push?: PushHandler
  /**
   * Takes open SSE streams on plain HTTP/1.x off node:http (the socket only,
   * about 5 KB less per stream; handed back when the stream ends). This uses
   * node:http internals, checked at run time: where they differ, streams stay
   * on node:http as they would with `false`. Set `false` to never touch them.
   * @defaultValue true
   */
  releaseSockets?: boolean
  /**
   * WebSocket streams on the stream path, or false to refuse upgrades.
   * `maxMessageBytes` (default 65536) bounds client messages (close 1009 beyond),
   * `maxMessagesPerSecond` (default 50) their rate (close 1008 beyond);
   * `perMessageDeflate` (default false) is handed to `ws`.
   */
  websocket?: Partial<WebSocketSettings> | false
}

/** Settings of WebSocket streams. */
export interface WebSocketSettings {
  maxMessageBytes: number
  /**
   * Client messages per second one socket may send to `push.onMessage`
   * (token bucket, bursts up to the same number); beyond, the socket is
   * closed with 1008. @defaultValue 50
   */
  maxMessagesPerSecond: number
  perMessageDeflate: boolean | PerMessageDeflateOptions
}

/** {@link ServerOptions} with defaults applied and checked. */
export interface ResolvedOptions {
  prefix: string
  channels: ChannelsCallback | undefined
  tokens: { cookie: string } | undefined
  publicMatch: ((channel: string) => boolean) | undefined
  cors: CorsOptions | undefined
  keepAlive: number
  retry: number
  /** Defaults and per-pattern rules; `enabled` when any channel keeps history. */
  history: { size: number; ttl: number; rules: HistoryRule[]; enabled: boolean }
  publishKey: string | undefined
  statsKey: string | undefined
  /** Who may read `/stats` and `/metrics`. */
  stats: 'public' | 'key' | 'off'
  trustProxy: TrustProxy
  limits: Required<Limits>
  channelAsEvent: boolean
  publishTimeout: number
  redisTimeout: number
  releaseSockets: boolean
  probe: { interval: number; timeout: number } | false
  logger: Logger
  amqp: AmqpOptions | undefined
  poll: PollSettings
  push: PushHandler | undefined
  websocket: WebSocketSettings | false
}

function publicMatcher(
  value: PublicChannels | undefined,
): ((channel: string) => boolean) | undefined {
  if (value === undefined) return undefined
  if (value === true) return () => true
  if (typeof value === 'function') return value
  if (value instanceof RegExp) return (channel) => value.test(channel)
  // The allow-list decides access, so `*` stays within one `:` segment: a
  // pattern that matches less than meant fails closed (a 403 the operator
  // sees), never opens `room:42:private` to a pattern written for `room:42`.
  const patterns = value.map((glob) => globToRegExp(glob, { star: 'segment' }))
  return (channel) => patterns.some((p) => p.test(channel))
}

function resolveHistory(history: ServerOptions['history']): ResolvedOptions['history'] {
  if (history === false) return { size: 0, ttl: 0, rules: [], enabled: false }
  const size = integerOption('history.size', history?.size, 0, DEFAULT_HISTORY.size)
  const ttl = integerOption('history.ttl', history?.ttl, 0, DEFAULT_HISTORY.ttl)
  const rules = Object.entries(history?.overrides ?? {}).map(([pattern, rule]): HistoryRule => {
    validateHistoryPattern(pattern)
    if (rule === false) return { pattern, size: 0, ttl: 0 }
    return {
      pattern,
      size: integerOption(`history.overrides['${pattern}'].size`, rule.size, 0, size),
      ttl: integerOption(`history.overrides['${pattern}'].ttl`, rule.ttl, 0, ttl),
    }
  })
  return { size, ttl, rules, enabled: size > 0 || rules.some((rule) => rule.size > 0) }
}

function resolveStats(options: ServerOptions): ResolvedOptions['stats'] {
  if (options.stats !== undefined && options.stats !== 'public' && options.stats !== false) {
    throw new RedisseError('invalid-option', "stats must be 'public' or false")
  }
  if (options.statsKey !== undefined && options.statsKey.length < 8) {
    throw new RedisseError('invalid-option', 'statsKey must be at least 8 characters long')
  }
  if (options.stats !== undefined && options.statsKey) {
    throw new RedisseError(
      'invalid-option',
      `stats: ${options.stats === false ? 'false' : "'public'"} contradicts statsKey: set one of them`,
    )
  }
  if (options.stats === 'public') return 'public'
  return options.statsKey ? 'key' : 'off'
}

function resolveTrustProxy(value: TrustProxy | undefined): TrustProxy {
  if (value === undefined || typeof value === 'boolean') return value ?? false
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw new RedisseError(
      'invalid-option',
      'trustProxy must be true, false or a list of proxy addresses (e.g. ["10.0.0.2"])',
    )
  }
  return value
}

/** Applies defaults and rejects contradictory options with a message naming the option. */
export function resolveOptions(options: ServerOptions): ResolvedOptions {
  if (!options.channels && !options.tokens && options.public === undefined) {
    throw new RedisseError(
      'invalid-option',
      'no access mode: set channels (a callback), tokens: true, or public (an allow-list)',
    )
  }
  if (options.cors) validateCors(options.cors)
  const history = resolveHistory(options.history)
  const limits = options.limits ?? {}
  const logger =
    typeof options.logger === 'object'
      ? adaptLogger(options.logger)
      : createLogger({ level: options.logger ?? 'warn' })
  if (options.publishKey !== undefined && options.publishKey.length < 8) {
    throw new RedisseError('invalid-option', 'publishKey must be at least 8 characters long')
  }
  return {
    prefix: options.prefix ?? DEFAULT_PREFIX,
    channels: options.channels,
    tokens: options.tokens
      ? { cookie: (typeof options.tokens === 'object' && options.tokens.cookie) || 'redisse_token' }
      : undefined,
    publicMatch: publicMatcher(options.public),
    cors: options.cors,
    keepAlive: integerOption('keepAlive', options.keepAlive, 10, 15_000),
    retry: integerOption('retry', options.retry, 0, 5000),
    history,
    publishKey: options.publishKey,
    statsKey: options.statsKey,
    stats: resolveStats(options),
    trustProxy: resolveTrustProxy(options.trustProxy),
    limits: {
      connections: integerOption('limits.connections', limits.connections, 1, 10_000),
      connectionsPerSubject: integerOption(
        'limits.connectionsPerSubject',
        limits.connectionsPerSubject,
        1,
        20,
      ),
      channelsPerConnection: integerOption(
        'limits.channelsPerConnection',
        limits.channelsPerConnection,
        1,
        100,
      ),
      bufferBytes: integerOption('limits.bufferBytes', limits.bufferBytes, 1, 256 * 1024),
      payloadBytes: integerOption(
        'limits.payloadBytes',
        limits.payloadBytes,
        1,
        DEFAULT_MAX_PAYLOAD_BYTES,
      ),
      bodyBytes: integerOption('limits.bodyBytes', limits.bodyBytes, 1, 1024 * 1024),
      connectionsPerIp:
        limits.connectionsPerIp === undefined || limits.connectionsPerIp === Infinity
          ? Infinity
          : integerOption('limits.connectionsPerIp', limits.connectionsPerIp, 1, Infinity),
      stallTimeout: integerOption('limits.stallTimeout', limits.stallTimeout, 1, 30_000),
    },
    channelAsEvent: options.channelAsEvent ?? false,
    publishTimeout: integerOption('publishTimeout', options.publishTimeout, 1, 5000),
    redisTimeout: integerOption('redisTimeout', options.redisTimeout, 1, 30_000),
    releaseSockets: options.releaseSockets ?? true,
    probe:
      options.probe === false
        ? false
        : {
            interval: integerOption('probe.interval', options.probe?.interval, 50, 2000),
            timeout: integerOption('probe.timeout', options.probe?.timeout, 50, 2000),
          },
    logger,
    amqp: options.amqp,
    poll: {
      wait: integerOption('poll.wait', options.poll?.wait, 0, 25_000),
      maxEvents: integerOption('poll.maxEvents', options.poll?.maxEvents, 1, 500),
      coalesce: integerOption('poll.coalesce', options.poll?.coalesce, 0, 25),
      maxBytes: integerOption('poll.maxBytes', options.poll?.maxBytes, 1, 256 * 1024),
    },
    push: options.push,
    websocket:
      options.websocket === false
        ? false
        : {
            maxMessageBytes: integerOption(
              'websocket.maxMessageBytes',
              options.websocket?.maxMessageBytes,
              1,
              64 * 1024,
            ),
            maxMessagesPerSecond: integerOption(
              'websocket.maxMessagesPerSecond',
              options.websocket?.maxMessagesPerSecond,
              1,
              50,
            ),
            perMessageDeflate: options.websocket?.perMessageDeflate ?? false,
          },
  }
}
