import { createDemoServer } from './createDemoServer'

const redis = process.env.REDIS_URL || undefined
const server = await createDemoServer({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? '0.0.0.0',
  redis,
  ...(process.env.DEMO_SECRET ? { secret: process.env.DEMO_SECRET } : {}),
  ...(process.env.DEMO_PREFIX ? { prefix: process.env.DEMO_PREFIX } : {}),
  ...(process.env.DEMO_HISTORY_SIZE ? { historySize: Number(process.env.DEMO_HISTORY_SIZE) } : {}),
  ...(process.env.DEMO_STATS_KEY ? { statsKey: process.env.DEMO_STATS_KEY } : {}),
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
