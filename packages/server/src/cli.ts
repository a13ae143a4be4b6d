#!/usr/bin/env node
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createLogger, type LogLevel } from './createLogger'
import { createServer } from './createServer'
import type { ServerOptions } from './options'

const HELP = `redisse-server: Server-Sent Events push server (https://github.com/redisse)

Usage: redisse-server [options]

Options (each also read from the environment variable shown):
  --port <n>            port to listen on (PORT)                         default 4242
  --host <addr>         address to bind (HOST)                           default 0.0.0.0
  --redis <url>         Redis URL (REDIS_URL); without it the embedded
                        in-process broker is used (single node, nothing persisted)
  --prefix <p>          Redis key prefix (REDISSE_PREFIX)                default redisse:
  --config <file>       module whose default export is the createServer options
                        (defineConfig); flags override it
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
  --log-level <l>       debug | info | warn | error | silent (REDISSE_LOG_LEVEL) default info
  -h, --help            show this help
  -v, --version         show the version

Access: token mode (?access_token=, Authorization: Bearer, or cookie) unless the
config supplies channels(req) or --public is given.
`

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    redis: { type: 'string' },
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
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  },
  args: normalisePublicFlag(process.argv.slice(2)),
  strict: true,
})

// `--public` may stand alone; parseArgs needs a value, so give it `*`.
function normalisePublicFlag(args: string[]): string[] {
  return args.flatMap((arg, i) =>
    arg === '--public' && (args[i + 1] === undefined || args[i + 1]?.startsWith('--'))
      ? ['--public', '*']
      : [arg],
  )
}

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) fail(`${name} must be a non-negative number, got "${raw}"`)
  return n
}

function fail(message: string): never {
  process.stderr.write(`redisse-server: ${message}\n`)
  process.exit(2)
}

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
  const level = (values['log-level'] ?? env.REDISSE_LOG_LEVEL ?? 'info') as LogLevel
  const logger = createLogger({ level })
  let config: ServerOptions = {}
  if (values.config) {
    const mod = (await import(pathToFileURL(resolve(values.config)).href)) as {
      default?: ServerOptions
    }
    if (!mod.default || typeof mod.default !== 'object')
      fail(`${values.config} has no default export of options`)
    config = mod.default
  }
  const redis = values.redis ?? env.REDIS_URL ?? config.redis
  const corsOrigin = values['cors-origin'] ?? env.REDISSE_CORS_ORIGIN
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

  const options: ServerOptions = {
    ...config,
    logger,
    ...(redis ? { redis } : {}),
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

  let server: ReturnType<typeof createServer>
  try {
    server = createServer(options)
  } catch (err) {
    fail((err as Error).message)
  }
  const port = num('--port', values.port ?? env.PORT) ?? 4242
  const host = values.host ?? env.HOST ?? '0.0.0.0'
  const address = await server.listen(port, host)
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
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info('shutting down', { signal })
    server.close().then(
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

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)))
