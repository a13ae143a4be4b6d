import { createPublisher, type Publisher } from '@redisse/publisher'
import {
  cleanupAfterEach,
  openSse,
  openWs,
  type RedisProcess,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createServer, type RedisseServer } from '../src/index'

// Issue 14, part 1: a stream whose first broker reads or SUBSCRIBE were in
// flight when the Redis connection dropped stayed open and silent for good
// (ioredis 6.0.0 never settles those commands, redis/ioredis#2193). Every
// stream must get what it missed, or end and get it once reconnected.
// "Stranded" is a client that never sees the marker event published after
// the fault, within STRANDED_AFTER.
const STRANDED_AFTER = 10_000
const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
type Transport = (typeof TRANSPORTS)[number]
const PER_TRANSPORT = 4

interface Received {
  id: string | undefined
  type: string
  data: unknown
}

/**
 * A client that behaves as Redisse's own: it resumes from its newest event
 * id after any end, error or refusal, and keeps what every attempt received.
 */
interface Resumer {
  readonly events: Received[]
  readonly attempts: number
  /** Payloads of `channel`'s events received, in order. */
  payloads(channel: string): unknown[]
  close(): void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function startResumer(
  transport: Transport,
  base: string,
  channels: string[],
  from: string | undefined,
): Resumer {
  const events: Received[] = []
  let cursor = from
  let attempts = 0
  let stopped = false
  let cancel: (() => void) | undefined
  const query = () =>
    channels.map((c) => `channel=${c}`).join('&') +
    (cursor === undefined ? '' : `&lastEventId=${encodeURIComponent(cursor)}`)
  const take = (event: Received) => {
    if (event.type === 'redisse:ready') return
    events.push(event)
    if (event.id) cursor = event.id
  }
  const once = async () => {
    attempts += 1
    if (transport === 'sse') {
      const stream = await openSse(`${base}/?${query()}`)
      cancel = () => stream.close()
      let seen = 0
      const sync = () => {
        for (; seen < stream.events.length; seen++) {
          const e = stream.events[seen]
          if (e) take({ id: e.id, type: e.event ?? 'message', data: JSON.parse(e.data) })
        }
      }
      const timer = setInterval(sync, 10)
      await stream.ended
      clearInterval(timer)
      sync()
      return
    }
    if (transport === 'websocket') {
      const stream = await openWs(`${base}/?${query()}`)
      cancel = () => stream.close()
      let seen = 0
      const sync = () => {
        for (; seen < stream.frames.length; seen++) {
          const f = stream.frames[seen]
          if (f) take({ id: f.id, type: f.type, data: f.data })
        }
      }
      const timer = setInterval(sync, 10)
      if (stream.status === 101) await stream.closed
      clearInterval(timer)
      sync()
      return
    }
    const controller = new AbortController()
    cancel = () => controller.abort()
    const res = await fetch(`${base}/poll?${query()}`, { signal: controller.signal })
    if (res.status !== 200) {
      await res.text()
      return
    }
    const body = (await res.json()) as { events: Received[]; lastEventId: string | null }
    for (const event of body.events) take(event)
    if (body.lastEventId) cursor = body.lastEventId
  }
  void (async () => {
    while (!stopped) {
      await once().catch(() => {})
      if (!stopped) await sleep(transport === 'poll' ? 20 : 100)
    }
  })()
  return {
    events,
    get attempts() {
      return attempts
    },
    payloads: (channel) =>
      events.filter((e) => e.id?.endsWith(`@${channel}`)).map((e) => (e.data as { n: number }).n),
    close() {
      stopped = true
      cancel?.()
    },
  }
}

const cleanup = cleanupAfterEach()

async function setUp(
  options: { persist?: boolean; viaProxy?: boolean; tokens?: boolean } = {},
): Promise<{
  redis: RedisProcess
  proxy: TcpProxy | undefined
  server: RedisseServer
  url: string
  pub: Publisher
  admin: Redis
}> {
  const redis = await startRedis({ persist: options.persist ?? false })
  cleanup.push(() => redis.stop())
  const proxy = options.viaProxy ? await startTcpProxy(redis.port) : undefined
  if (proxy) cleanup.push(() => proxy.close())
  const server = createServer({
    logger: 'silent',
    ...(options.tokens ? { tokens: true } : { public: true }),
    redis: proxy ? `redis://127.0.0.1:${proxy.port}` : redis.url,
    // A quick canary, so the stall is seen (and the connections replaced)
    // well inside the test's time.
    probe: { interval: 200, timeout: 500 },
  })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  await waitFor(() => server.broker.state === 'ready', { what: 'broker ready' })
  const pub = createPublisher({ redis: redis.url, publishTimeout: 20_000 })
  cleanup.push(() => pub.close())
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: null })
  cleanup.push(() => admin.disconnect())
  return { redis, proxy, server, url, pub, admin }
}

/** Waits until every resumer got `expected` payloads on `channel`, naming the stranded ones if not. */
async function expectAllReceived(
  resumers: Array<{ transport: Transport; client: Resumer }>,
  channel: string,
  expected: number[],
): Promise<void> {
  const missing = () =>
    resumers.filter(({ client }) => {
      const got = client.payloads(channel)
      return expected.some((n) => !got.includes(n))
    })
  await waitFor(() => missing().length === 0, {
    timeout: STRANDED_AFTER,
    interval: 50,
    what: 'every stream to get the marker',
  }).catch(() => {
    const stranded = missing().map(
      ({ transport, client }) =>
        `${transport} (attempts ${client.attempts}, got ${JSON.stringify(client.payloads(channel))})`,
    )
    throw new Error(`${stranded.length} stream(s) stranded: ${stranded.join('; ')}`)
  })
  // Exactly once and in order, for every transport.
  for (const { client } of resumers) {
    expect(client.payloads(channel)).toEqual(expected)
  }
}

function resumeAll(url: string, channels: string[], from: string | undefined) {
  const resumers = TRANSPORTS.flatMap((transport) =>
    Array.from({ length: PER_TRANSPORT }, () => ({
      transport,
      client: startResumer(transport, url, channels, from),
    })),
  )
  cleanup.push(() => {
    for (const { client } of resumers) client.close()
  })
  return resumers
}

describe('issue 14: no stream is stranded when Redis fails under its first reads', () => {
  it('delivers every missed event to resumes that arrive 300 ms into a Redis stall, before the canary fires', async () => {
    const { redis, url, pub } = await setUp()
    const from = await pub.publish('s', 'e', { n: 0 })
    for (let n = 1; n <= 5; n++) await pub.publish('s', 'e', { n })

    redis.pause()
    cleanup.push(() => redis.resume())
    await sleep(300)
    // Their head/history reads are sent to a Redis that does not answer.
    const resumers = resumeAll(url, ['s'], from)
    // Long enough for the canary to give up (0.7 s) and for ioredis to
    // destroy the half-closed sockets (its disconnectTimeout, 2 s).
    await sleep(3500)
    redis.resume()
    const resumed = Date.now()
    const marker = 6
    await pub.publish('s', 'e', { n: marker })

    await expectAllReceived(resumers, 's', [1, 2, 3, 4, 5, marker])
    console.log(`stalled resumes all caught up ${Date.now() - resumed} ms after SIGCONT`)
  }, 30_000)

  it('subscribes again a channel whose first SUBSCRIBE was in flight when the connection was reset', async () => {
    const { proxy, url, pub, admin } = await setUp({ viaProxy: true })
    const from = await pub.publish('other', 'e', { n: 0 })

    // Redis stops answering through the proxy: every first SUBSCRIBE of
    // channel `fresh` (and the polls' reads) is sent and left unanswered.
    proxy?.freeze()
    const resumers = resumeAll(url, ['fresh'], from)
    await sleep(300)
    proxy?.drop()

    await waitFor(
      async () => {
        const [, count] = (await admin.pubsub('NUMSUB', 'redisse:ch:fresh')) as [string, number]
        return count > 0
      },
      { timeout: STRANDED_AFTER, what: 'the node to subscribe to fresh again' },
    )
    // A client arriving later on the same channel hears it too.
    const late = startResumer('sse', url, ['fresh'], from)
    cleanup.push(() => late.close())
    const marker = await publishUntilHeard(pub, 'fresh', [
      ...resumers,
      { transport: 'sse', client: late },
    ])
    expect(marker).toBeGreaterThan(0)
  }, 30_000)

  it('delivers every missed event to resumes in flight when a hung Redis is killed and restarted', async () => {
    const { redis, url, pub } = await setUp({ persist: true })
    const from = await pub.publish('k', 'e', { n: 0 })
    for (let n = 1; n <= 5; n++) await pub.publish('k', 'e', { n })

    redis.pause()
    const resumers = resumeAll(url, ['k'], from)
    await sleep(300)
    await redis.restart()
    const marker = 6
    await pub.publish('k', 'e', { n: marker })

    await expectAllReceived(resumers, 'k', [1, 2, 3, 4, 5, marker])
  }, 30_000)
})

describe('issue 14: how a stream whose replay read was lost ends', () => {
  it('ends the SSE stream, closes the WebSocket with 1011 and answers the poll 503, at once', async () => {
    const { proxy, url, pub } = await setUp({ viaProxy: true })
    const from = await pub.publish('h', 'e', { n: 0 })
    // The channel is live already: the resumes below only wait for their reads.
    const live = await openSse(`${url}/?channel=h`)
    cleanup.push(() => live.close())
    await live.waitForComment('ok')

    proxy?.freeze()
    const query = `channel=h&lastEventId=${encodeURIComponent(from)}`
    const sse = await openSse(`${url}/?${query}`)
    const ws = await openWs(`${url}/?${query}`)
    const poll = fetch(`${url}/poll?${query}`, { signal: AbortSignal.timeout(STRANDED_AFTER) })
    cleanup.push(() => {
      sse.close()
      ws.close()
    })
    await sleep(300)
    const lostAt = Date.now()
    proxy?.drop()

    const res = await poll
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(await res.json()).toMatchObject({ error: { code: 'broker-unavailable' } })
    expect(await ws.closed).toEqual({ code: 1011, reason: 'broker unavailable: reconnect' })
    await sse.ended
    expect(sse.events).toEqual([])
    expect(sse.comments).not.toContain('ok')
    expect(Date.now() - lostAt).toBeLessThan(2000)
  }, 30_000)
})

describe('issue 14: a token lookup in flight on a reset connection', () => {
  it('answers 503 broker-unavailable at once instead of hanging, and the retry streams', async () => {
    const { proxy, url, pub } = await setUp({ viaProxy: true, tokens: true })
    const token = await pub.subject('u1').generateToken()
    await pub.subject('u1').addChannel('t')

    proxy?.freeze()
    const answer = fetch(`${url}/?access_token=${token}`, {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.timeout(STRANDED_AFTER),
    })
    await sleep(300)
    proxy?.drop()
    const res = await answer
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ error: { code: 'broker-unavailable' } })

    const stream = await openSse(`${url}/?access_token=${token}`)
    cleanup.push(() => stream.close())
    await stream.waitForComment('ok', STRANDED_AFTER)
    await pub.publish('t', 'e', { n: 1 })
    await stream.waitForEvents(1)
  }, 30_000)
})

/**
 * Publishes markers 1, 2, 3… every 200 ms until every client has heard one
 * (a client that reconnects without a cursor may miss the first), or fails
 * naming the stranded ones.
 */
async function publishUntilHeard(
  pub: Publisher,
  channel: string,
  clients: Array<{ transport: Transport; client: Resumer }>,
): Promise<number> {
  const deadline = Date.now() + STRANDED_AFTER
  for (let n = 1; ; n++) {
    await pub.publish(channel, 'e', { n })
    await sleep(200)
    const deaf = clients.filter(({ client }) => client.payloads(channel).length === 0)
    if (deaf.length === 0) return n
    if (Date.now() > deadline) {
      throw new Error(
        `${deaf.length} stream(s) stranded: ${deaf.map((d) => `${d.transport} (attempts ${d.client.attempts})`).join('; ')}`,
      )
    }
  }
}
