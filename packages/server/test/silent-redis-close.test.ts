import { createPublisher } from '@redisse/publisher'
import {
  cleanupAfterEach,
  openSse,
  type RedisProcess,
  startRedis,
  startSentinel,
  startTcpProxy,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/broker/createRedisBroker'
import { createLogger } from '../src/createLogger'
import { createServer } from '../src/index'
import { failureOf, settlesWithin, stillOpen, trackHandles } from './silentClose'

// A Redis that goes silent (TCP open, nothing answered) must not hold any
// close() forever: a process that cannot close cannot restart, and what it
// leaves open fails the next test. The proxy freezes the connections already
// open; probes are off, so nothing reconnects around the silence.
const T = 400

describe('closing while Redis is silent', () => {
  let redis: RedisProcess
  let checker: Redis
  const cleanup = cleanupAfterEach()
  const logger = createLogger({ level: 'silent' })

  /** Clients Redis still has, besides the checker and a Sentinel's own links. */
  const clientsLeft = async () =>
    String(await checker.call('CLIENT', 'LIST'))
      .trim()
      .split('\n')
      .filter((line) => !line.includes(`id=${checkerId} `) && !line.includes(' name=sentinel-'))
      .length
  let checkerId = 0

  beforeAll(async () => {
    redis = await startRedis()
    checker = new Redis(redis.url)
    checkerId = Number(await checker.call('CLIENT', 'ID'))
  })
  afterAll(async () => {
    checker?.disconnect()
    await redis?.stop()
  })

  const silentRedis = async () => {
    const proxy = await startTcpProxy(redis.port)
    cleanup.push(() => proxy.close())
    const handles = trackHandles()
    cleanup.push(() => handles.stop())
    return { proxy, url: `redis://127.0.0.1:${proxy.port}`, handles }
  }

  /** Nothing is left: no client on Redis, no socket or timer here once the proxy is gone. */
  const expectNothingLeft = async (
    proxy: { close(): Promise<void> },
    handles: { open(): string[] },
  ) => {
    // Asked while the proxy still holds the frozen connections: a client that
    // did not close them would still be on Redis.
    await waitFor(async () => (await clientsLeft()) === 0, {
      timeout: 2000,
      what: 'Redis to have no client of ours left',
    })
    await proxy.close()
    expect(await stillOpen(handles)).toEqual([])
  }

  it('closes a Redis broker that owns its connections', async () => {
    const { proxy, url, handles } = await silentRedis()
    const broker = createRedisBroker({
      redis: url,
      prefix: uniquePrefix('silent'),
      logger,
      commandTimeout: T,
      probe: false,
    })
    await broker.ready()
    await broker.subscribe('a')
    await broker.publish({ channel: 'a', type: 'e', data: 0 })
    proxy.freeze()
    const inFlight = failureOf(broker.publish({ channel: 'a', type: 'e', data: 1 }))
    expect(await settlesWithin(broker.close(), 5 * T)).toBe('settled')
    expect(await inFlight).toMatchObject({ code: 'publish-failed' })
    expect(broker.state).toBe('closed')
    await expectNothingLeft(proxy, handles)
  })

  it('closes a Redis broker given an ioredis instance, and leaves that instance open', async () => {
    const { proxy, url, handles } = await silentRedis()
    const given = new Redis(url)
    cleanup.push(() => given.disconnect())
    const broker = createRedisBroker({
      redis: given,
      prefix: uniquePrefix('silent'),
      logger,
      commandTimeout: T,
      probe: false,
    })
    await broker.ready()
    await broker.subscribe('a')
    proxy.freeze()
    expect(await settlesWithin(broker.close(), 5 * T)).toBe('settled')
    expect(given.status).toBe('ready')
    given.disconnect()
    await expectNothingLeft(proxy, handles)
  })

  it('closes a Redis broker while a SUBSCRIBE is in flight, failing it with broker-unavailable', async () => {
    const { proxy, url, handles } = await silentRedis()
    const broker = createRedisBroker({
      redis: url,
      prefix: uniquePrefix('silent'),
      logger,
      commandTimeout: T,
      probe: false,
    })
    await broker.ready()
    proxy.freeze()
    const subscribing = failureOf(broker.subscribe('b'))
    expect(await settlesWithin(broker.close(), 5 * T)).toBe('settled')
    expect(await subscribing).toMatchObject({ code: 'broker-unavailable' })
    await expectNothingLeft(proxy, handles)
  })

  it('closes a Redis broker over Sentinel options', async () => {
    const sentinel = await startSentinel(redis.port)
    cleanup.push(() => sentinel.stop())
    const { proxy, handles } = await silentRedis()
    const broker = createRedisBroker({
      redis: {
        sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
        name: sentinel.name,
        // The master Sentinel names is reached through the proxy.
        natMap: { [`127.0.0.1:${redis.port}`]: { host: '127.0.0.1', port: proxy.port } },
      },
      prefix: uniquePrefix('silent'),
      logger,
      commandTimeout: T,
      probe: false,
    })
    await broker.ready()
    await broker.subscribe('a')
    proxy.freeze()
    expect(await settlesWithin(broker.close(), 5 * T)).toBe('settled')
    await expectNothingLeft(proxy, handles)
  })

  /** A server on `redis` with a stream open on channel a, its subscription confirmed. */
  const serveOneStream = async (redis: string | Redis) => {
    const server = createServer({ logger: 'silent', redis, public: true, probe: false })
    cleanup.push(() => server.close())
    const { url } = await server.listen(0, '127.0.0.1')
    const stream = await openSse(`${url}/?channel=a`)
    cleanup.push(() => stream.close())
    await stream.waitForComment('ok')
    return { server, stream }
  }

  // The server's broker keeps its default command timeout (5 s): the bound is 3× that.
  it('closes a whole server with an open stream, and ends the stream', async () => {
    const { proxy, url, handles } = await silentRedis()
    const { server, stream } = await serveOneStream(url)
    proxy.freeze()
    expect(await settlesWithin(server.close(), 15_000)).toBe('settled')
    expect(await settlesWithin(stream.ended, 1000)).toBe('settled')
    await expectNothingLeft(proxy, handles)
  }, 30_000)

  it('closes a server given an ioredis instance, ends its stream, and leaves that instance open', async () => {
    const { proxy, url, handles } = await silentRedis()
    const given = new Redis(url)
    cleanup.push(() => given.disconnect())
    const { server, stream } = await serveOneStream(given)
    proxy.freeze()
    expect(await settlesWithin(server.close(), 15_000)).toBe('settled')
    expect(await settlesWithin(stream.ended, 1000)).toBe('settled')
    expect(given.status).toBe('ready')
    given.disconnect()
    await expectNothingLeft(proxy, handles)
  }, 30_000)

  // SIGSTOP: the kernel still accepts the connection, the handshake is never answered.
  it('closes a server whose listen() waits for a Redis silent from the start, failing listen()', async () => {
    const stalled = await startRedis()
    cleanup.push(() => stalled.stop())
    stalled.pause()
    cleanup.push(() => stalled.resume())
    const handles = trackHandles()
    cleanup.push(() => handles.stop())
    const server = createServer({
      logger: 'silent',
      redis: stalled.url,
      public: true,
      probe: false,
    })
    cleanup.push(() => server.close())
    const listening = failureOf(server.listen(0, '127.0.0.1'))
    expect(await settlesWithin(server.close(), 15_000)).toBe('settled')
    expect(await settlesWithin(listening, 1000)).toBe('settled')
    expect(await listening).toMatchObject({ code: 'broker-unavailable' })
    // A peer that never reads keeps a socket ioredis ended for its
    // disconnectTimeout (2 s) before it destroys it.
    expect(await stillOpen(handles, 3000)).toEqual([])
  }, 30_000)

  it('closes a publisher over Redis with a publish in flight, failing it with publish-failed', async () => {
    const { proxy, url, handles } = await silentRedis()
    const publisher = createPublisher({
      redis: url,
      prefix: uniquePrefix('silent'),
      publishTimeout: T,
    })
    await publisher.publish('a', 'e', 0)
    proxy.freeze()
    const inFlight = failureOf(publisher.publish('a', 'e', 1))
    expect(await settlesWithin(publisher.close(), 5 * T)).toBe('settled')
    expect(await inFlight).toMatchObject({ code: 'publish-failed' })
    await expectNothingLeft(proxy, handles)
  })
})
