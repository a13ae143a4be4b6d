import type { Envelope } from '@redisse/protocol'
import type { Publisher } from '@redisse/publisher'
import {
  cleanupAfterEach,
  openSse,
  openWs,
  type RedisProcess,
  startRedis,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Broker, HistoryPage, HistoryPageRequest } from '../src/broker/Broker'
import {
  createEmbeddedBroker,
  createLogger,
  createRedisBroker,
  createServer,
  type RedisseServer,
} from '../src/index'
import { serveOnBroker } from './serveOnBroker'

// Issue 14 §1 under the node's own recovery after a bus outage: it runs on
// a broker state change, outside any request, so a rejection there would
// end the process (Node's default for unhandled rejections), and a throw
// that skipped the release of the held streams would strand them all. A
// history read that fails is tried again; one that keeps failing ends the
// streams, whose clients resume from their cursors (never a reset that
// claims a loss history may not have had).

/** What the test does to the real Redis broker's calls. */
interface Faults {
  histories?: (
    request: HistoryPageRequest,
    read: () => Promise<HistoryPage>,
  ) => Promise<HistoryPage>
  subscribe?: (channel: string, subscribe: () => Promise<void>) => Promise<void>
}

/** The Redis broker with its history reads and subscriptions passed through `faults`, as a custom broker could behave. */
function withFaults(inner: Broker, faults: Faults): Broker & { inject(envelope: Envelope): void } {
  let deliver: ((envelope: Envelope) => void) | undefined
  return {
    kind: inner.kind,
    get state() {
      return inner.state
    },
    get droppedEnvelopes() {
      return inner.droppedEnvelopes ?? 0
    },
    ready: () => inner.ready(),
    publish: (request) => inner.publish(request),
    subscribe: (channel) =>
      faults.subscribe
        ? faults.subscribe(channel, () => inner.subscribe(channel))
        : inner.subscribe(channel),
    unsubscribe: (channel) => inner.unsubscribe(channel),
    head: () => inner.head(),
    histories: (request) =>
      faults.histories
        ? faults.histories(request, () => inner.histories(request))
        : inner.histories(request),
    onEnvelope(listener) {
      deliver = listener
      inner.onEnvelope(listener)
    },
    onSubjectEdit: (listener) => inner.onSubjectEdit(listener),
    onState: (listener) => inner.onState(listener),
    resolveToken: (token) => inner.resolveToken(token),
    subjects: inner.subjects,
    configureHistory: (history) => inner.configureHistory(history),
    close: () => inner.close(),
    inject(envelope) {
      deliver?.(envelope)
    },
  }
}

interface Got {
  id: string | undefined
  type: string
}

/**
 * A client of each transport that resumes from its newest id after every
 * end (as Redisse's own client does) and records what each attempt got and
 * how it ended.
 */
function startClient(transport: 'sse' | 'websocket' | 'poll', base: string, from: string) {
  const events: Got[] = []
  const ends: string[] = []
  let cursor = from
  let stopped = false
  let cancel: (() => void) | undefined
  const take = (got: Got) => {
    if (got.type === 'redisse:ready') return
    events.push(got)
    if (got.id) cursor = got.id
  }
  const once = async () => {
    const query = `channel=r&lastEventId=${encodeURIComponent(cursor)}`
    if (transport === 'sse') {
      const stream = await openSse(`${base}/?${query}`)
      cancel = () => stream.close()
      let seen = 0
      const sync = () => {
        for (; seen < stream.events.length; seen++) {
          const e = stream.events[seen]
          if (e) take({ id: e.id, type: e.event ?? 'message' })
        }
      }
      const timer = setInterval(sync, 10)
      await stream.ended
      clearInterval(timer)
      sync()
      ends.push('ended')
      return
    }
    if (transport === 'websocket') {
      const ws = await openWs(`${base}/?${query}`)
      cancel = () => ws.close()
      let seen = 0
      const sync = () => {
        for (; seen < ws.frames.length; seen++) {
          const f = ws.frames[seen]
          if (f) take({ id: f.id, type: f.type })
        }
      }
      const timer = setInterval(sync, 10)
      const closed = ws.status === 101 ? await ws.closed : { code: ws.status, reason: '' }
      clearInterval(timer)
      sync()
      ends.push(String(closed.code))
      return
    }
    const controller = new AbortController()
    cancel = () => controller.abort()
    const res = await fetch(`${base}/poll?${query}`, { signal: controller.signal })
    if (res.status !== 200) {
      await res.text()
      ends.push(String(res.status))
      return
    }
    const body = (await res.json()) as { events: Got[]; lastEventId: string | null }
    for (const event of body.events) take(event)
    if (body.lastEventId) cursor = body.lastEventId
  }
  void (async () => {
    while (!stopped) {
      await once().catch(() => {})
      if (!stopped) await new Promise((r) => setTimeout(r, 50))
    }
  })()
  return {
    transport,
    events,
    ends,
    close() {
      stopped = true
      cancel?.()
    },
  }
}
type Client = ReturnType<typeof startClient>

let redis: RedisProcess
/** Set just before the node's subscriber connection is killed: reads after it are the recovery's. */
let busLost = false
const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)
beforeEach(async () => {
  rejections.length = 0
  busLost = false
  process.on('unhandledRejection', onRejection)
  redis = await startRedis()
})
afterEach(async () => {
  await redis.stop()
  process.off('unhandledRejection', onRejection)
})
// Registered after the hook above so it runs before it (Vitest runs afterEach
// hooks last registered first): the server and clients close while Redis is up.
const cleanup = cleanupAfterEach()

async function setUp(faults: Faults): Promise<{
  server: RedisseServer
  broker: ReturnType<typeof withFaults>
  url: string
  pub: Publisher
  clients: Client[]
  from: string
}> {
  const prefix = uniquePrefix('rf')
  const broker = withFaults(
    createRedisBroker({
      redis: redis.url,
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: { interval: 200, timeout: 500 },
    }),
    faults,
  )
  const { server, url, pub } = await serveOnBroker(broker, { redisUrl: redis.url, prefix, cleanup })
  const from = await pub.publish('r', 'e', 0)
  const clients = (['sse', 'websocket', 'poll'] as const).map((t) => startClient(t, url, from))
  cleanup.push(() => {
    for (const client of clients) client.close()
  })
  // Every client is live (its resume read nothing) before the bus is lost.
  await waitFor(() => server.stats().connections === 3, { what: 'three streams open' })
  return { server, broker, url, pub, clients, from }
}

/** Drops the node's subscriber connection and publishes 1…5 while it is away. */
async function loseBusAndPublish(server: RedisseServer, pub: Publisher): Promise<void> {
  const admin = new Redis(redis.url)
  try {
    const reconnects = server.stats().broker.reconnects
    busLost = true
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await waitFor(() => server.stats().broker.reconnects > reconnects, { what: 'bus lost' })
    for (let n = 1; n <= 5; n++) await pub.publish('r', 'e', n)
  } finally {
    admin.disconnect()
  }
}

/** Publishes a marker once the node hears the bus again; every client must get 1…5 and it, once each, in order, and no reset. */
async function expectEveryoneCaughtUp(server: RedisseServer, pub: Publisher, clients: Client[]) {
  await waitFor(() => server.broker.state === 'ready', { what: 'bus back', timeout: 10_000 })
  const marker = await pub.publish('r', 'marker', 6)
  await waitFor(() => clients.every((c) => c.events.some((e) => e.id?.startsWith(marker))), {
    timeout: 10_000,
    what: 'every client to get the marker',
  }).catch(() => {
    throw new Error(
      `stranded: ${clients
        .filter((c) => !c.events.some((e) => e.id?.startsWith(marker)))
        .map((c) => `${c.transport} got ${JSON.stringify(c.events)}`)
        .join('; ')}`,
    )
  })
  for (const client of clients) {
    const seqs = client.events.map((e) => Number(e.id?.split('@')[0]?.split('-').pop()))
    expect(client.events.filter((e) => e.type === 'redisse:reset')).toEqual([])
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(client.events.map((e) => e.type)).toEqual(['e', 'e', 'e', 'e', 'e', 'marker'])
  }
}

describe('issue 14: the recovery after a bus outage under faults of its history reads', () => {
  it('tries a failed recovery read again: every stream gets what it missed, not a reset, and none ends', async () => {
    let recoveryReads = 0
    const { server, pub, clients } = await setUp({
      histories: async (_request, read) => {
        // The recovery's reads are those of the node's whole channel set
        // made after the loss; the clients' own resumes happened before.
        if (busLost) recoveryReads += 1
        if (busLost && recoveryReads <= 2) {
          throw new Error('READONLY You cannot write against a read only replica.')
        }
        return read()
      },
    })
    await loseBusAndPublish(server, pub)
    await expectEveryoneCaughtUp(server, pub, clients)
    expect(recoveryReads).toBeGreaterThanOrEqual(3)
    for (const client of clients) expect(client.ends).toEqual([])
    expect(rejections).toEqual([])
  }, 30_000)

  it.each([
    ['rejects', () => Promise.reject(new Error('history read failed'))],
    [
      'throws synchronously',
      () => {
        throw new Error('a custom broker throws')
      },
    ],
  ])(
    'ends every stream when the recovery read always %s, and each resumes from its cursor without loss',
    async (_, fail) => {
      let failing = true
      const { server, pub, clients } = await setUp({
        histories: (_request, read) =>
          failing && busLost ? (fail() as Promise<HistoryPage>) : read(),
      })
      await loseBusAndPublish(server, pub)
      // The streams end (SSE), close with 1011 (WebSocket) or answer 503 (poll).
      await waitFor(() => clients.every((c) => c.ends.length > 0), {
        timeout: 10_000,
        what: 'every stream to end',
      })
      expect(clients.map((c) => c.ends[0])).toEqual(['ended', '1011', '503'])
      failing = false
      await expectEveryoneCaughtUp(server, pub, clients)
      expect(rejections).toEqual([])
    },
    30_000,
  )

  it('survives a live event it cannot encode held during the recovery: that stream ends, the others carry on', async () => {
    let release: (() => void) | undefined
    let held = false
    const { server, broker, pub, clients, from } = await setUp({
      histories: async (_request, read) => {
        if (busLost && !held) {
          held = true
          await new Promise<void>((resolve) => {
            release = resolve
          })
        }
        return read()
      },
    })
    await loseBusAndPublish(server, pub)
    await waitFor(() => release !== undefined, { what: 'recovery reading', timeout: 10_000 })
    // A custom bus hands the node an event whose type cannot go on an SSE
    // stream while every stream is held for the recovery.
    const epoch = from.slice(0, from.lastIndexOf('-'))
    broker.inject({ id: `${epoch}-1000`, channel: 'r', type: 'bad\r\ntype', data: '1', ts: 0 })
    await new Promise((r) => setTimeout(r, 20))
    release?.()
    // The SSE stream ends and resumes from its cursor; the event it could
    // not write is skipped there, and the others got it as it came.
    await waitFor(() => clients[0]?.ends.length === 1, { what: 'the SSE stream to end' })
    await waitFor(() => server.stats().connections === 3, { what: 'the SSE stream back' })
    const marker = await pub.publish('r', 'marker', 6)
    // The poisoned seq 1000 is ahead of the marker for WebSocket and poll
    // (they took it), so only the SSE client is held to the marker.
    await waitFor(() => clients[0]?.events.some((e) => e.id?.startsWith(marker)) === true, {
      timeout: 10_000,
      what: 'the SSE client to get the marker',
    })
    expect(clients[0]?.events.map((e) => e.type)).toEqual(['e', 'e', 'e', 'e', 'e', 'marker'])
    expect(rejections).toEqual([])
  }, 30_000)
})

describe('issue 14: a SUBSCRIBE repeated after a reconnect that fails', () => {
  it('ends the streams of that channel, which come back subscribed and hear it', async () => {
    let subscribes = 0
    let failing = true
    const { server, pub, clients } = await setUp({
      subscribe: (channel, subscribe) => {
        if (channel === 'r') subscribes += 1
        if (channel === 'r' && subscribes > 1 && failing) {
          failing = false
          return Promise.reject(new Error('Command timed out'))
        }
        return subscribe()
      },
    })
    await loseBusAndPublish(server, pub)
    await waitFor(() => clients.every((c) => c.ends.length > 0), {
      timeout: 10_000,
      what: 'every stream of the channel to end',
    })
    expect(clients.map((c) => c.ends[0])).toEqual(['ended', '1011', '503'])
    await expectEveryoneCaughtUp(server, pub, clients)
    expect(rejections).toEqual([])
  }, 30_000)
})

describe('issue 14: a first SUBSCRIBE that fails after its streams left', () => {
  it('ends only the streams waiting on it, not those a later SUBSCRIBE of the channel serves', async () => {
    let first: { reject(err: Error): void } | undefined
    let calls = 0
    const broker = withFaults(createEmbeddedBroker(), {
      subscribe: (channel, subscribe) => {
        if (channel !== 'late') return subscribe()
        calls += 1
        if (calls > 1) return subscribe()
        return new Promise<void>((_resolve, reject) => {
          first = { reject }
        })
      },
    })
    const server = createServer({ logger: 'silent', public: true, broker })
    cleanup.push(() => server.close())
    const { url } = await server.listen(0, '127.0.0.1')
    // A waits on the first SUBSCRIBE, then leaves; B joins afterwards.
    const a = await openSse(`${url}/?channel=late`)
    await waitFor(() => first !== undefined, { what: 'the first SUBSCRIBE in flight' })
    a.close()
    await waitFor(() => server.stats().connections === 0, { what: 'A gone' })
    const b = await openWs(`${url}/?channel=late`)
    cleanup.push(() => b.close())
    // The first SUBSCRIBE fails only now, once B's own is queued behind it.
    first?.reject(new Error('Command timed out'))
    await b.waitForFrames(1, 5000, (f) => f.type === 'redisse:ready')
    await broker.publish({ channel: 'late', type: 'marker', data: 1 })
    const frames = await b.waitForFrames(1, 5000, (f) => f.type === 'marker')
    expect(frames).toHaveLength(1)
    expect(b.isClosed).toBe(false)
    expect(rejections).toEqual([])
  })
})
