import { createPublisher, type Publisher } from '@redisse/publisher'
import { waitFor } from '@redisse/test-utils'
import type { Broker } from '../src/broker/Broker'
import { createServer, type RedisseServer } from '../src/index'

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
