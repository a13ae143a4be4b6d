import { createPublisher, type Publisher } from '@redisse/publisher'
import { startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import type { Broker } from '../src/broker/Broker'
import { createLogger, createRedisBroker, createServer, type RedisseServer } from '../src/index'
import { withGates } from './brokerGates'

/**
 * A public server on `broker` (a real Redis broker the test wraps), once the
 * broker is ready, and a publisher to the same Redis; both are closed by
 * `cleanup`, last first.
 */
export async function serveOnBroker(
  broker: Broker,
  options: { redisUrl: string; prefix: string; cleanup: Array<() => unknown> },
): Promise<{ server: RedisseServer; url: string; pub: Publisher }> {
  const server = createServer({ logger: 'silent', public: true, broker })
  options.cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  await waitFor(() => broker.state === 'ready', { what: 'broker ready' })
  const pub = createPublisher({ redis: options.redisUrl, prefix: options.prefix })
  options.cleanup.push(() => pub.close())
  return { server, url, pub }
}

/**
 * A public server on its own redis-server (so the test may kill its
 * subscriber connections), over a Redis broker held by gates (see
 * `withGates`), with a publisher and an admin client of that Redis; all
 * closed by `cleanup`, last first.
 */
export async function serveGatedOnOwnRedis(name: string, cleanup: Array<() => unknown>) {
  const redis = await startRedis()
  cleanup.push(() => redis.stop())
  const prefix = uniquePrefix(name)
  const { broker, gates } = withGates(
    createRedisBroker({
      redis: redis.url,
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: false,
    }),
  )
  const served = await serveOnBroker(broker, { redisUrl: redis.url, prefix, cleanup })
  const admin = new Redis(redis.url)
  cleanup.push(() => admin.disconnect())
  return { ...served, redis, prefix, broker, gates, admin }
}
