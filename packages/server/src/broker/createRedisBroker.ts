import { randomUUID } from 'node:crypto'
import {
  createKeys,
  isClusterOption,
  isIoredis,
  parseControl,
  RedisseError,
} from '@redisse/protocol'
import { createPublisher, type Publisher } from '@redisse/publisher'
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { type Logger, redact } from '../createLogger'
import type { Broker, BrokerState } from './Broker'
import { createBrokerListeners } from './createBrokerListeners'
import { createCanaryProbe, type ProbeOptions } from './createCanaryProbe'
import { createEnvelopeReader } from './createEnvelopeReader'
import { createLogAccess } from './createLogAccess'
import { createTokenAccess } from './createTokenAccess'
import { withDeadline } from './withDeadline'
import { writeHistoryConfig } from './writeHistoryConfig'

/** Default bound of every Redis command the broker sends, ms. */
const DEFAULT_COMMAND_TIMEOUT = 5000

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
  /**
   * Bound of every command the broker sends (reads, SUBSCRIBE, token and
   * subject calls), ms: past it, or once the connection it was sent on is
   * lost, the call fails with `broker-unavailable` and the stream waiting on
   * it is ended, so its client reconnects and resumes. Also the ioredis
   * `commandTimeout` of the connections the broker opens.
   * @defaultValue 5000
   */
  commandTimeout?: number
}

function openCommand(redis: string | RedisOptions, commandTimeout: number): Redis {
  const ours = {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    // A publish whose reply was lost may have run: resending it blindly
    // could append it twice, so it fails and the caller decides.
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions
  if (typeof redis === 'string') {
    try {
      return new Redis(redis, ours)
    } catch (err) {
      // Node's URL error carries the whole URL, password included, as `input`.
      if ((err as { code?: unknown }).code !== 'ERR_INVALID_URL') throw err
      throw new RedisseError(
        'invalid-option',
        `the redis option is not a valid URL (${redact(redis)}): give redis://[user:password@]host:port[/db]`,
      )
    }
  }
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
  // `{ cluster: [...] }` would otherwise be read as ioredis options without a
  // host, and dial localhost:6379: a server on a cluster must never do that.
  // A standalone ioredis instance has a `cluster` method too: it is no cluster.
  if (isClusterOption<Cluster>(given)) {
    throw new RedisseError(
      'invalid-option',
      'the Redis broker takes one Redis (URL, options or instance) or Sentinel; a cluster goes to createClusterBroker, which createServer({ redis: { cluster } }) uses',
    )
  }
  const ownsCommand = !isIoredis<Redis>(given)
  const timeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT
  // A publish's own bound is publishTimeout (the publisher's gate): ioredis'
  // timeout there only catches what the gate would not.
  const command = isIoredis<Redis>(given)
    ? given
    : openCommand(given, Math.max(timeout, options.publishTimeout ?? 0))
  // The subscriber keeps its own offline queue: SUBSCRIBE issued while
  // Redis is away is sent on reconnect, and ioredis resubscribes the rest.
  // Its commands (SUBSCRIBE, UNSUBSCRIBE, PING) are safe to send twice, so
  // those in flight when the connection drops are sent again rather than
  // dropped unanswered (redis/ioredis#2193). The timeout fails a SUBSCRIBE
  // still queued while Redis stays away, so the streams waiting on it end
  // (and their clients come back) rather than wait in silence; ioredis may
  // still send it later, which the hub's UNSUBSCRIBE after them, and its
  // resubscription after each reconnect, set right.
  const subscriber = command.duplicate({
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    autoResendUnfulfilledCommands: true,
    commandTimeout: timeout,
  })
  // Commands in flight on a command connection that closed are never
  // answered (ioredis 6.0.0 drops them on reconnect without settling them,
  // redis/ioredis#2193): each close fails the calls sent before it at once.
  // Aborted by close(): what waits for Redis to answer gives up then.
  const closing = new AbortController()
  let commandLost = new AbortController()
  const onCommandClose = () => {
    commandLost.abort()
    commandLost = new AbortController()
  }
  command.on('close', onCommandClose)
  const bounded = <T>(what: string, work: Promise<T>): Promise<T> =>
    withDeadline(work, { what, ms: timeout, signal: commandLost.signal })
  const boundedSub = <T>(what: string, work: Promise<T>): Promise<T> =>
    withDeadline(work, { what, ms: timeout })
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
    // Closed before Redis answered: nothing went wrong.
    if (!closing.signal.aborted) logger.error('cannot subscribe to the control channel', { err })
  })
  // 'ready' comes before the resubscriptions are confirmed; a PING answered
  // on the same connection proves they are, so recovery reads history only
  // once live events flow again.
  subscriber.on('ready', () => {
    boundedSub('ping the subscriber connection', subscriber.ping()).then(
      () => {
        setState('ready')
        probe?.resume()
      },
      (err: unknown) => {
        // Unanswered, the node would stay 'reconnecting' with its probe paused: start over.
        logger.warn('redis subscriber connection did not answer PING: reconnecting', {
          err: String(err),
        })
        if (subscriber.status === 'ready') subscriber.disconnect(true)
      },
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
  const reader = createEnvelopeReader({ keys, logger })
  const log = createLogAccess({ command, keys, reader, bounded })
  const tokens = createTokenAccess({ command, keys, publisher, bounded })
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
    const envelope = reader.read(message, pubsubChannel, 'bus')
    if (envelope) listeners.emitEnvelope(envelope)
  })

  return {
    kind: 'redis',
    get state() {
      return state
    },
    get droppedEnvelopes() {
      return reader.dropped
    },
    async ready() {
      if (subscriber.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const settle = (err?: RedisseError) => {
            clearTimeout(timer)
            subscriber.off('ready', onReady)
            closing.signal.removeEventListener('abort', onClose)
            if (err) reject(err)
            else resolve()
          }
          const onReady = () => settle()
          // The subscriber will never be ready then, and the caller
          // (listen()) must not wait out the 10 s.
          const onClose = () =>
            settle(
              new RedisseError(
                'broker-unavailable',
                'the broker was closed (close() was called) before Redis answered',
              ),
            )
          const timer = setTimeout(
            () =>
              settle(
                new RedisseError(
                  'broker-unavailable',
                  'cannot reach Redis within 10 s: check the redis option / REDIS_URL',
                ),
              ),
            10_000,
          )
          subscriber.once('ready', onReady)
          if (closing.signal.aborted) onClose()
          else closing.signal.addEventListener('abort', onClose, { once: true })
        })
      }
      await controlReady
    },
    async publish(request) {
      return publisher.publish(request.channel, request.type, request.data, {
        ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
      })
    },
    ...log,
    async subscribe(channel) {
      await boundedSub(`subscribe to ${channel}`, subscriber.subscribe(keys.pubsub(channel)))
    },
    async unsubscribe(channel) {
      await boundedSub(`unsubscribe from ${channel}`, subscriber.unsubscribe(keys.pubsub(channel)))
    },
    ...listeners.register,
    ...tokens,
    async configureHistory(history) {
      await bounded(
        'store the history settings',
        writeHistoryConfig(command.multi(), keys.config, history).exec(),
      )
    },
    async close() {
      closing.abort()
      probe?.stop()
      setState('closed')
      command.off('close', onCommandClose)
      await publisher.close()
      subscriber.disconnect()
      if (ownsCommand) await command.quit().catch(() => command.disconnect())
    },
  }
}
