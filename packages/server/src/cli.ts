#!/usr/bin/env node
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { isRedisseError, MAX_PARTITIONS, validateHistoryPattern } from '@redisse/protocol'
import { createLogger, type LogLevel } from './createLogger'
import { createServer } from './createServer'
import { describeRedis } from './describeRedis'
import { listenTls } from './listenTls'
import { loadAmqplib } from './loadAmqplib'
import { loadConfigFile } from './loadConfigFile'
import type { ServerOptions } from './options'
import { runPrimary, serveAsWorker } from './runWorkers'

const HELP = `redisse-server: Server-Sent Events push server (docs: the README of @redisse/server)

Usage: redisse-server [options]

Options (each also read from the environment variable shown):
  --port <n>            port to listen on (PORT)                         default 4242
  --host <addr>         address to bind (HOST)                           default 0.0.0.0
  --redis <url>         Redis URL (REDIS_URL); without it the embedded
                        in-process broker is used (single node, nothing persisted)
  --redis-cluster <urls>  Redis Cluster (or Valkey Cluster) nodes, comma-separated
                        redis:// URLs (REDIS_CLUSTER); instead of --redis
  --redis-partitions <n>  partitions of the log on the cluster, 1 to 16; publishers
                        must use the same (REDISSE_PARTITIONS)          default 16
  --redis-timeout <s>   how long to wait for Redis at start before exiting with
                        code 1 (REDISSE_REDIS_TIMEOUT)                   default 30
  --prefix <p>          Redis key prefix (REDISSE_PREFIX)                default redisse:
  --config <file>       module whose default export is the createServer options
                        (defineConfig); flags override it. .js/.mjs/.cjs always;
                        .ts/.mts on Node >= 22.18 or with tsx installed
  --cors-origin <o>     allowed origin(s), comma-separated, or * (REDISSE_CORS_ORIGIN)
  --keep-alive <s>      keep-alive comment interval, seconds (REDISSE_KEEP_ALIVE) default 15
  --retry <ms>          reconnection delay sent to clients (REDISSE_RETRY) default 5000
  --publish-key <key>   enables POST /publish and /subjects (REDISSE_PUBLISH_KEY)
  --stats-key <key>     serves /stats and /metrics to Authorization: Bearer <key>
                        (REDISSE_STATS_KEY); without it both are off (404).
                        A config file may set stats: 'public' instead
  --public [list]       allow ?channel= subscriptions; optional comma-separated
                        allow-list with globs, e.g. "news,room:*" (REDISSE_PUBLIC):
                        * stays within a :-separated segment, ** crosses them
  --channel-event       send the channel name as the event type (REDISSE_CHANNEL_EVENT=1)
  --amqp <url>          consume events from AMQP (REDISSE_AMQP_URL): topic exchange
                        --amqp-exchange (REDISSE_AMQP_EXCHANGE, default redisse),
                        durable queue --amqp-queue (REDISSE_AMQP_QUEUE, default
                        redisse.ingest); routing key = channel, body {type,data}
  --workers <n|auto>    worker processes sharing the port, one per core with
                        auto (REDISSE_WORKERS); more than 1 needs Redis    default 1
  --tls-cert <file>     PEM certificate (chain): serve HTTPS with HTTP/2 and an
                        HTTP/1.1 fallback (REDISSE_TLS_CERT); needs --tls-key
  --tls-key <file>      PEM private key of --tls-cert (REDISSE_TLS_KEY)
  --log-level <l>       debug | info | warn | error | silent (REDISSE_LOG_LEVEL) default info
  -h, --help            show this help
  -v, --version         show the version

Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT); 1 when Redis stays
unreachable for --redis-timeout or the port cannot be bound; 2 for a wrong flag,
value or environment variable.

Access: token mode (?access_token=, Authorization: Bearer, or cookie) unless the
config supplies channels(req) or --public is given.
`

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  redis: { type: 'string' },
  'redis-cluster': { type: 'string' },
  'redis-partitions': { type: 'string' },
  'redis-timeout': { type: 'string' },
  prefix: { type: 'string' },
  config: { type: 'string' },
  'cors-origin': { type: 'string' },
  'keep-alive': { type: 'string' },
  retry: { type: 'string' },
  'publish-key': { type: 'string' },
  'stats-key': { type: 'string' },
  public: { type: 'string' },
  'channel-event': { type: 'boolean' },
  'log-level': { type: 'string' },
  amqp: { type: 'string' },
  'amqp-exchange': { type: 'string' },
  'amqp-queue': { type: 'string' },
  workers: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** A usage error: one line naming the flag, a pointer to --help, exit code 2. */
function fail(message: string): never {
  process.stderr.write(`redisse-server: ${message} (see redisse-server --help)\n`)
  process.exit(2)
}

/** A run-time failure (Redis unreachable, port in use): one line, exit code 1. */
function die(message: string): never {
  process.stderr.write(`redisse-server: ${message}\n`)
  process.exit(1)
}

function parseCli(argv: string[]) {
  try {
    return parseArgs({ options: OPTIONS, args: attachValues(argv), strict: true }).values
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const unknown = /Unknown option '([^']+)'/.exec(message)
    if (unknown) fail(`unknown option ${unknown[1]}`)
    const positional = /Unexpected argument '([^']+)'/.exec(message)
    if (positional)
      fail(`unexpected argument "${positional[1]}": redisse-server takes only --options`)
    const missing = /Option '(-\w, )?(--[\w-]+)/.exec(message)
    if (missing) fail(`${missing[2]} needs a value`)
    fail(message.split('\n')[0] ?? message)
  }
}

// parseArgs refuses `--port -1` as ambiguous; glue such values on
// (`--port=-1`) so the value check below names the flag and the value.
// `--public` may stand alone: parseArgs needs a value, so give it `*`.
function attachValues(args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const name = arg.startsWith('--') ? arg.slice(2) : ''
    const next = args[i + 1]
    if (name === 'public' && (next === undefined || next.startsWith('--'))) {
      out.push('--public=*')
    } else if (
      (OPTIONS as Record<string, { type: string }>)[name]?.type === 'string' &&
      next !== undefined &&
      /^-[^-]/.test(next)
    ) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) fail(`${name} must be a non-negative number, got "${raw}"`)
  return n
}

function portNumber(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    fail(`--port (PORT) must be a port number from 0 to 65535, got "${raw}"`)
  }
  return n
}

function checkRedisUrl(flag: string, url: string): void {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    fail(`${flag} is not a URL: write redis://[:password@]host:port or rediss://… for TLS`)
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    fail(`${flag} must be a redis:// or rediss:// URL, got a ${protocol} URL`)
  }
}

/** The `redis` option from --redis, --redis-cluster, their env vars or the config file. */
function redisOption(
  values: {
    redis?: string | undefined
    'redis-cluster'?: string | undefined
    'redis-partitions'?: string | undefined
  },
  env: NodeJS.ProcessEnv,
  config: ServerOptions,
): ServerOptions['redis'] {
  const clusterFlag = values['redis-cluster'] ? '--redis-cluster' : 'REDIS_CLUSTER'
  const nodes = values['redis-cluster'] || env.REDIS_CLUSTER
  const url = values.redis || env.REDIS_URL
  const partitionsText = values['redis-partitions'] ?? env.REDISSE_PARTITIONS
  if (nodes && url) {
    fail('--redis (REDIS_URL) and --redis-cluster (REDIS_CLUSTER) exclude each other: give one')
  }
  if (partitionsText !== undefined && !nodes) {
    fail('--redis-partitions (REDISSE_PARTITIONS) applies to --redis-cluster only')
  }
  if (nodes) {
    const urls = nodes
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
    if (urls.length === 0)
      fail(`${clusterFlag} lists no node: write redis://host:port,redis://host:port`)
    for (const node of urls) checkRedisUrl(clusterFlag, node)
    let partitions: number | undefined
    if (partitionsText !== undefined) {
      partitions = Number(partitionsText)
      if (!/^\d+$/.test(partitionsText) || partitions < 1 || partitions > MAX_PARTITIONS) {
        fail(
          `--redis-partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${JSON.stringify(partitionsText)}`,
        )
      }
    }
    return { cluster: urls, ...(partitions === undefined ? {} : { partitions }) }
  }
  const redisFlag = values.redis ? '--redis' : env.REDIS_URL ? 'REDIS_URL' : 'redis (in --config)'
  const redis = url || config.redis
  if (typeof redis === 'string') checkRedisUrl(redisFlag, redis)
  return redis
}

function checkOrigins(origins: string[]): void {
  for (const origin of origins) {
    if (origin === '*') continue
    let parsed: URL | undefined
    try {
      parsed = new URL(origin)
    } catch {}
    if (!parsed || parsed.origin !== origin) {
      fail(
        `--cors-origin (REDISSE_CORS_ORIGIN): "${origin}" is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com, or *`,
      )
    }
  }
}

function checkPublicList(list: string[]): void {
  for (const pattern of list) {
    try {
      validateHistoryPattern(pattern)
    } catch {
      fail(
        `--public (REDISSE_PUBLIC): "${pattern}" is not a channel name or glob; use A-Z a-z 0-9 _ - . : @ / = + and * as wildcard, comma-separated`,
      )
    }
  }
}

function checkAmqpUrl(url: string): void {
  let protocol = ''
  try {
    protocol = new URL(url).protocol
  } catch {}
  if (protocol !== 'amqp:' && protocol !== 'amqps:') {
    fail(`--amqp (REDISSE_AMQP_URL) must be an amqp:// or amqps:// URL, got "${url.slice(0, 80)}"`)
  }
}

const values = parseCli(process.argv.slice(2))

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(HELP)
    return
  }
  if (values.version) {
    const pkg = await import('../package.json', { with: { type: 'json' } })
    process.stdout.write(`${pkg.default.version}\n`)
    return
  }
  const env = process.env
  const level = values['log-level'] ?? env.REDISSE_LOG_LEVEL ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    fail(`--log-level (REDISSE_LOG_LEVEL) must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`)
  }
  const logger = createLogger({ level: level as LogLevel })
  const port = portNumber(values.port ?? env.PORT) ?? 4242
  const redisTimeout = num('--redis-timeout', values['redis-timeout'] ?? env.REDISSE_REDIS_TIMEOUT)
  if (redisTimeout !== undefined && redisTimeout <= 0)
    fail('--redis-timeout must be more than 0 seconds')
  let config: ServerOptions = {}
  if (values.config) {
    try {
      config = await loadConfigFile(values.config)
    } catch (err) {
      fail(isRedisseError(err) ? err.message : `--config ${values.config}: ${firstLine(err)}`)
    }
  }
  const redis = redisOption(values, env, config)
  const corsOrigin = values['cors-origin'] ?? env.REDISSE_CORS_ORIGIN
  if (corsOrigin) checkOrigins(corsOrigin.split(',').map((o) => o.trim()))
  const keepAlive = num('--keep-alive', values['keep-alive'] ?? env.REDISSE_KEEP_ALIVE)
  const retry = num('--retry', values.retry ?? env.REDISSE_RETRY)
  const publicList = values.public ?? env.REDISSE_PUBLIC
  const channelEvent =
    values['channel-event'] || /^(1|true|yes)$/i.test(env.REDISSE_CHANNEL_EVENT ?? '')
  const publishKey = values['publish-key'] ?? env.REDISSE_PUBLISH_KEY
  const statsKey = values['stats-key'] ?? env.REDISSE_STATS_KEY
  const prefix = values.prefix ?? env.REDISSE_PREFIX
  const amqpUrl = values.amqp ?? env.REDISSE_AMQP_URL
  const amqpExchange = values['amqp-exchange'] ?? env.REDISSE_AMQP_EXCHANGE
  const amqpQueue = values['amqp-queue'] ?? env.REDISSE_AMQP_QUEUE
  if (amqpUrl) {
    checkAmqpUrl(amqpUrl)
    await loadAmqplib().catch((err: unknown) => fail(firstLine(err)))
  }
  const tlsCert = values['tls-cert'] || env.REDISSE_TLS_CERT
  const tlsKey = values['tls-key'] || env.REDISSE_TLS_KEY
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    fail(
      '--tls-cert and --tls-key (REDISSE_TLS_CERT, REDISSE_TLS_KEY) go together: give both or neither',
    )
  }
  if (publicList && publicList !== '*') checkPublicList(publicList.split(',').map((p) => p.trim()))

  const options: ServerOptions = {
    ...config,
    logger,
    ...(redis ? { redis } : {}),
    ...(redisTimeout === undefined ? {} : { redisTimeout: Math.round(redisTimeout * 1000) }),
    ...(prefix ? { prefix } : {}),
    ...(corsOrigin
      ? {
          cors: {
            ...config.cors,
            origin: corsOrigin.includes(',')
              ? corsOrigin.split(',').map((o) => o.trim())
              : corsOrigin,
          },
        }
      : {}),
    ...(keepAlive === undefined ? {} : { keepAlive: Math.round(keepAlive * 1000) }),
    ...(retry === undefined ? {} : { retry: Math.round(retry) }),
    ...(publishKey ? { publishKey } : {}),
    ...(statsKey ? { statsKey } : {}),
    ...(channelEvent ? { channelAsEvent: true } : {}),
    ...(amqpUrl
      ? {
          amqp: {
            ...config.amqp,
            url: amqpUrl,
            ...(amqpExchange ? { exchange: amqpExchange } : {}),
            ...(amqpQueue ? { queue: amqpQueue } : {}),
          },
        }
      : {}),
    ...(publicList
      ? { public: publicList === '*' ? true : publicList.split(',').map((p) => p.trim()) }
      : {}),
  }
  // Token mode is the default whenever the app did not supply channels(req).
  if (!options.channels && options.tokens === undefined) options.tokens = true

  const workers = workerCount(values.workers ?? env.REDISSE_WORKERS)
  if (workers > 1 && !options.redis && !options.broker) {
    fail(
      '--workers above 1 needs --redis (REDIS_URL) or --redis-cluster (REDIS_CLUSTER): on the embedded broker each worker would keep its own log, and an event published to one would never reach the streams of another',
    )
  }
  if (workers > 1 && cluster.isPrimary) {
    logger.info('redisse-server starting workers', {
      workers,
      port,
      broker: 'redis',
      redis: describeRedis(options.redis),
    })
    runPrimary({ workers, logger })
    return
  }

  let server: ReturnType<typeof createServer>
  try {
    server = createServer(options)
  } catch (err) {
    fail((err as Error).message)
  }
  const host = values.host ?? env.HOST ?? '0.0.0.0'
  // Say at once what the node waits for: a silent start is the worst failure to debug.
  const waiting = setTimeout(() => {
    if (server.broker.kind === 'redis' && server.broker.state !== 'ready') {
      logger.warn('waiting for Redis', {
        redis: describeRedis(options.redis),
        timeout: `${server.options.redisTimeout / 1000} s (--redis-timeout)`,
      })
    }
  }, 500)
  let address: { url: string }
  let closeTls: (() => Promise<void>) | undefined
  try {
    if (tlsCert && tlsKey) {
      const tls = await listenTls(server, { port, host, certFile: tlsCert, keyFile: tlsKey })
      closeTls = tls.close
      address = tls
    } else {
      address = await server.listen(port, host)
    }
  } catch (err) {
    clearTimeout(waiting)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE')
      die(`port ${port} on ${host} is in use: choose another with --port (PORT)`)
    if (code === 'EACCES')
      die(`no permission to listen on port ${port}: use a port above 1023 or grant the capability`)
    if (isRedisseError(err, 'invalid-option')) fail(err.message)
    if (isRedisseError(err, 'broker-unavailable'))
      die(`${err.message} (Redis at ${describeRedis(options.redis)})`)
    die(firstLine(err))
  } finally {
    clearTimeout(waiting)
  }
  const access = options.channels
    ? 'callback'
    : [options.tokens ? 'token' : '', options.public ? 'public' : ''].filter(Boolean).join('+')
  logger.info('redisse-server listening', {
    url: address.url,
    broker:
      server.broker.kind === 'redis'
        ? 'redis'
        : 'embedded (in-process: one node, events and tokens live only as long as this process)',
    access,
    publish: publishKey ? 'POST /publish enabled' : 'HTTP publish off (no publish key)',
    ...(closeTls ? { tls: 'HTTPS, HTTP/2 with HTTP/1.1 fallback' } : {}),
    ...(cluster.isWorker ? { worker: Number(env.REDISSE_WORKER ?? cluster.worker?.id) } : {}),
  })
  if (cluster.isWorker) serveAsWorker(server)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info('shutting down', { signal })
    server
      .close()
      .then(() => closeTls?.())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error('shutdown failed', { err: String(err) })
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** `--workers`: 1 by default, `auto` for one per available core, else 1 to 256. */
function workerCount(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1
  if (raw === 'auto') return availableParallelism()
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 256) {
    fail(`--workers (REDISSE_WORKERS) must be auto or an integer from 1 to 256, got "${raw}"`)
  }
  return n
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0] ?? message
}

main().catch((err: unknown) => die(firstLine(err)))
