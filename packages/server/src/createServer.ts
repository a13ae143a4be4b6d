import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { isClusterOption, isIoredisCluster, RedisseError } from '@redisse/protocol'
import type { RedisClusterOptions } from '@redisse/publisher'
import type { Cluster } from 'ioredis'
import { applySubjectEdit } from './applySubjectEdit'
import type { Broker } from './broker/Broker'
import { createClusterBroker } from './broker/createClusterBroker'
import { createEmbeddedBroker } from './broker/createEmbeddedBroker'
import { createRedisBroker } from './broker/createRedisBroker'
import { brokerReadyWithin } from './brokerReadyWithin'
import { applyCors } from './cors'
import { createAdmissionLedger } from './createAdmissionLedger'
import { replayPacing } from './createHistoryPager'
import { createHub, type Hub } from './createHub'
import { createPartitionedHub } from './createPartitionedHub'
import { createUpgradeHandler } from './createUpgradeHandler'
import { handleApi } from './handleApi'
import { handlePoll } from './handlePoll'
import { collectMetrics, collectStats, handleStatus, type ServerStats } from './handleStatus'
import { sendError } from './httpErrors'
import { isPipelined } from './isPipelined'
import { notifyShutdown } from './notifyShutdown'
import { openStream } from './openStream'
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options'
import { parseRequestTarget } from './parseRequestTarget'
import { registerPromMetrics } from './registerPromMetrics'
import type { ServerContext } from './ServerContext'
import { serverContexts } from './serverContexts'
import { startAmqpIngest } from './startAmqpIngest'
import { toPublishRequest } from './toPublishRequest'
import { wireHubToBroker } from './wireHubToBroker'

const ALLOW_GET = { Allow: 'GET' }

const PIPELINED = new RedisseError(
  'pipelined-request',
  'streams and long polls are not served pipelined behind another request: send each on a connection of its own',
)

/** Connect/Express-style request handler. */
export type RequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void

/** A Redisse server: mount `handler` anywhere, or `listen` on its own port. */
export interface RedisseServer {
  /** Handles stream and API requests; calls `next()` for paths it does not serve. */
  readonly handler: RequestHandler
  /**
   * Serves a WebSocket upgrade as a stream: hand it the `upgrade` event of
   * your own HTTP server when you mount `handler` there (the server of
   * `listen()` does this for the path `/`).
   * @example
   * ```ts
   * http.createServer(app).on('upgrade', (req, socket, head) => {
   *   if (req.url?.startsWith('/events')) redisse.upgrade(req, socket, head)
   *   else socket.destroy()
   * })
   * ```
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** The bus this server uses. */
  readonly broker: Broker
  /** Options after defaults. */
  readonly options: ResolvedOptions
  /**
   * Listens on its own HTTP server.
   * @defaultValue port 4242, host '0.0.0.0'
   */
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>
  /** Resolves once the AMQP ingest consumes (immediately without `amqp`). */
  amqpReady(): Promise<void>
  /** Figures of `/stats`. */
  stats(): ServerStats
  /**
   * Calls `push.onShutdown` on every connection (bounded wait), ends every
   * stream, waits for in-flight requests (bounded), closes the broker.
   */
  close(): Promise<void>
}

/** The broker the `redis` option names: none, one Redis (or Sentinel), or a cluster. */
function openBroker(redis: ServerOptions['redis'], resolved: ResolvedOptions): Broker {
  if (redis === undefined) return createEmbeddedBroker()
  const common = {
    prefix: resolved.prefix,
    logger: resolved.logger,
    publishTimeout: resolved.publishTimeout,
    probe: resolved.probe,
  }
  if (!isClusterOption<RedisClusterOptions | Cluster>(redis))
    return createRedisBroker({ ...common, redis })
  if (isIoredisCluster<Cluster>(redis)) return createClusterBroker({ ...common, cluster: redis })
  return createClusterBroker({
    ...common,
    cluster: redis.cluster,
    ...(redis.partitions === undefined ? {} : { partitions: redis.partitions }),
  })
}

/**
 * Creates a Redisse server.
 * @example
 * ```ts
 * const server = createServer({ redis: process.env.REDIS_URL, channels: (req) => ['global'] })
 * await server.listen(4242)
 * ```
 */
export function createServer(options: ServerOptions = {}): RedisseServer {
  const resolved = resolveOptions(options)
  const broker = options.broker ?? openBroker(options.redis, resolved)
  const hubOptions = {
    logger: resolved.logger,
    keepAlive: resolved.keepAlive,
    channelAsEvent: resolved.channelAsEvent,
    pacing: replayPacing(resolved.limits.bufferBytes, resolved.limits.stallTimeout),
  }
  const hub =
    broker.partitions && broker.partitions.length > 1
      ? createPartitionedHub({
          ...hubOptions,
          broker: broker as Broker & { partitions: readonly Broker[] },
          maxBufferedBytes: resolved.limits.bufferBytes,
        })
      : createHub({ ...hubOptions, broker })
  const ctx: ServerContext = {
    options: resolved,
    broker,
    hub,
    admissions: createAdmissionLedger(resolved.limits),
    counters: {
      published: 0,
      publishErrors: 0,
      brokerReconnects: 0,
      rejected: {
        limit: 0,
        'subject-limit': 0,
        'ip-limit': 0,
        unauthorized: 0,
        forbidden: 0,
        invalid: 0,
      },
    },
    startedAt: Date.now(),
    closing: false,
  }
  broker.onSubjectEdit((edit) => {
    ctx.admissions.recordEdit(edit)
    applySubjectEdit(hub, edit, resolved)
  })
  // Start-up transitions are summed up by the caller's first log line.
  let started = false
  const partitions = broker.partitions ?? []
  const hubs = hub.partitions ?? [hub]
  const logs = partitions.length > 1 ? partitions : [broker]
  logs.forEach((log, partition) => {
    wireHubToBroker({
      hub: hubs[partition] as Hub,
      broker: log,
      logger: resolved.logger,
      onLost: () => {
        ctx.counters.brokerReconnects += 1
      },
      onChange: (state) => {
        if (!started) return
        resolved.logger.warn('broker state changed', {
          broker: broker.kind,
          state,
          ...(logs.length > 1 ? { partition } : {}),
        })
      },
    })
  })
  const configured = broker.configureHistory(resolved.history).catch((err: unknown) => {
    resolved.logger.warn('cannot store history settings in the broker yet', { err: String(err) })
  })

  const ingest = resolved.amqp
    ? startAmqpIngest({
        amqp: resolved.amqp,
        logger: resolved.logger,
        publish: async (request) => {
          const id = await broker.publish(request)
          ctx.counters.published += 1
          return id
        },
        toRequest: (value) => toPublishRequest(value, resolved.limits.payloadBytes),
      })
    : undefined
  ctx.amqp = ingest?.counters
  const unregisterMetrics = options.metrics
    ? registerPromMetrics(options.metrics.registry, () => collectMetrics(ctx))
    : undefined

  const refusePipelined = (res: ServerResponse) => {
    ctx.counters.rejected.invalid += 1
    sendError(res, PIPELINED)
  }

  const handler: RequestHandler = (req, res, next) => {
    let url: URL
    try {
      url = parseRequestTarget(req.url)
    } catch (err) {
      // Thrown here, outside any promise, it would end the process.
      sendError(res, err)
      return
    }
    const path = url.pathname
    const serve = async () => {
      if (path === '/' || path === '') {
        if (applyCors(resolved.cors, req, res)) return
        // HEAD too: node:http sends no status line for a HEAD that writes a
        // body, and a headers-only stream would be admitted and counted for nothing.
        if (req.method !== 'GET') {
          sendError(
            res,
            new RedisseError('method-not-allowed', 'streams are opened with GET'),
            ALLOW_GET,
          )
          return
        }
        if (isPipelined(res)) return refusePipelined(res)
        await openStream(ctx, req, res, url)
        return
      }
      if (path === '/poll') {
        if (applyCors(resolved.cors, req, res)) return
        if (req.method !== 'GET') {
          sendError(res, new RedisseError('method-not-allowed', 'poll with GET'), ALLOW_GET)
          return
        }
        if (isPipelined(res)) return refusePipelined(res)
        await handlePoll(ctx, req, res, url)
        return
      }
      if (handleStatus(ctx, req, res, path)) return
      if (applyCors(resolved.cors, req, res)) return
      if (await handleApi(ctx, req, res, path)) return
      if (next) next()
      else sendError(res, new RedisseError('not-found', `no such endpoint: ${req.method} ${path}`))
    }
    serve().catch((err: unknown) => {
      // decodeURIComponent of a client's bad %-encoding, in any route.
      if (err instanceof URIError) {
        sendError(res, new RedisseError('malformed-target', `malformed %-encoding in ${path}`))
        return
      }
      resolved.logger.error('request failed', { path, err: String(err) })
      sendError(res, err)
    })
  }

  const { upgrade, onServerUpgrade } = createUpgradeHandler(ctx)
  let http: Server | undefined
  let closed: Promise<void> | undefined

  const server: RedisseServer = {
    handler,
    upgrade,
    broker,
    options: resolved,
    async listen(port = 4242, host = '0.0.0.0') {
      await Promise.all([brokerReadyWithin(broker, resolved.redisTimeout), configured])
      http = createHttpServer(handler)
      http.on('upgrade', onServerUpgrade)
      await new Promise<void>((resolve, reject) => {
        http?.once('error', reject)
        http?.listen(port, host, () => resolve())
      })
      started = true
      const address = http.address() as AddressInfo
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host
      return { port: address.port, host, url: `http://${shownHost}:${address.port}` }
    },
    stats: () => collectStats(ctx),
    amqpReady: () => ingest?.ready ?? Promise.resolve(),
    close() {
      closed ??= (async () => {
        ctx.closing = true
        await notifyShutdown(ctx)
        hub.close('server-shutdown')
        if (http) {
          const server = http
          const done = new Promise<void>((resolve) => server.close(() => resolve()))
          server.closeIdleConnections()
          const force = setTimeout(() => server.closeAllConnections(), 2000)
          await done
          clearTimeout(force)
        }
        await ingest?.stop()
        await configured
        await broker.close()
        unregisterMetrics?.()
      })()
      return closed
    },
  }
  serverContexts.set(server, ctx)
  return server
}
