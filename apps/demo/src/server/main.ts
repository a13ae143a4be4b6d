import { createDemoServer } from './createDemoServer'

// One line and a non-zero exit for what a user gets wrong at start, never a stack trace.
function exitWith(message: string): never {
  console.error(`redisse demo: ${message}`)
  process.exit(1)
}

const redis = process.env.REDIS_URL || undefined
if (redis && !/^rediss?:\/\/[^/]/.test(redis)) {
  exitWith('REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379')
}
const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '0.0.0.0'
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  exitWith(`PORT must be a port number from 0 to 65535, got "${process.env.PORT}"`)
}
const server = await createDemoServer({
  port,
  host,
  redis,
  ...(process.env.DEMO_SECRET ? { secret: process.env.DEMO_SECRET } : {}),
  ...(process.env.DEMO_PREFIX ? { prefix: process.env.DEMO_PREFIX } : {}),
  ...(process.env.DEMO_HISTORY_SIZE ? { historySize: Number(process.env.DEMO_HISTORY_SIZE) } : {}),
  ...(process.env.DEMO_STATS_KEY ? { statsKey: process.env.DEMO_STATS_KEY } : {}),
}).catch((err: unknown): never => {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') exitWith(`port ${port} on ${host} is in use: set PORT to another port`)
  exitWith(err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err))
})
if (!process.env.DEMO_SECRET) {
  console.warn(
    'DEMO_SECRET is not set: sessions are signed with a random secret of this process (they end with it, and other nodes refuse them)',
  )
}
console.log(
  `Redisse chat on ${server.url} (${redis ? `Redis at ${redis.replace(/\/\/[^@]*@/, '//***@')}` : 'embedded broker, no Redis'})`,
)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
