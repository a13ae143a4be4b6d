import { createKeys, type Envelope, type PollResponse, RedisseError } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { cleanupAfterEach, openSse, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import type { Broker, BrokerState } from '../src/broker/Broker'
import { createLogger, createRedisBroker, createServer } from '../src/index'
import { auditChannel, type ChannelLog } from './chaosClient'
import { recordSse } from './failoverStreams'

// Issue 14 §2, the moment a full-suite run under load hit: a poll that
// comes back while the bus is away after a failover to a lagging replica,
// whose check of the log cannot read Redis yet (the head read was lost
// with the connection), and whose history read then lands on the promoted
// replica, whose log already grew past the poll's cursor under the same
// epoch. The replay went on as if the log were intact and answered the new
// log's events after the cursor: those the new log put at reused
// sequences were skipped, with no reset.

const cleanup = cleanupAfterEach()

/**
 * The real Redis broker, whose bus the test takes away and brings back
 * (state changes, and envelopes not heard meanwhile) and whose head read
 * fails on demand, as when the connection drops with it in flight.
 */
function withBusControl(inner: Broker) {
  let away = false
  let failHead = false
  let headFailures = 0
  const stateListeners: Array<(state: BrokerState) => void> = []
  let onEnvelope: ((envelope: Envelope) => void) | undefined
  const unheard: Envelope[] = []
  inner.onEnvelope((envelope) => {
    if (away) unheard.push(envelope)
    else onEnvelope?.(envelope)
  })
  inner.onState((state) => {
    for (const listener of stateListeners) listener(state)
  })
  const setState = (state: BrokerState) => {
    for (const listener of stateListeners) listener(state)
  }
  const broker: Broker = {
    kind: inner.kind,
    get state() {
      return away ? 'reconnecting' : inner.state
    },
    ready: () => inner.ready(),
    publish: (request) => inner.publish(request),
    subscribe: (channel) => inner.subscribe(channel),
    unsubscribe: (channel) => inner.unsubscribe(channel),
    head() {
      if (!failHead) return inner.head()
      headFailures += 1
      return Promise.reject(
        new RedisseError('broker-unavailable', 'the Redis connection was lost: retry shortly'),
      )
    },
    histories: (request) => inner.histories(request),
    holds: (envelope) => inner.holds?.(envelope) ?? Promise.resolve(undefined),
    replaceEpoch: (from, to) =>
      inner.replaceEpoch?.(from, to) ?? Promise.reject(new Error('no replaceEpoch')),
    onEnvelope(listener) {
      onEnvelope = listener
    },
    onSubjectEdit: (listener) => inner.onSubjectEdit(listener),
    onState: (listener) => stateListeners.push(listener),
    resolveToken: (token) => inner.resolveToken(token),
    subjects: inner.subjects,
    configureHistory: (history) => inner.configureHistory(history),
    close: () => inner.close(),
  }
  return {
    broker,
    /** Envelopes the node did not hear while its bus was away. */
    unheard,
    /** Head reads failed on demand so far. */
    get headFailures() {
      return headFailures
    },
    busLost() {
      away = true
      setState('reconnecting')
    },
    busBack() {
      away = false
      setState('ready')
    },
    /** Brings the bus back, `envelopes` heard on it before the node is told it is back. */
    busBackHearing(envelopes: Envelope[]) {
      away = false
      for (const envelope of envelopes) onEnvelope?.(envelope)
      setState('ready')
    },
    failHead(on: boolean) {
      failHead = on
    },
  }
}

/** A node on a real Redis whose bus the test controls, with a stream keeping `news` heard. */
async function setUp() {
  const prefix = uniquePrefix('unchecked')
  const redis = new Redis(inject('redisUrl'))
  cleanup.push(() => redis.disconnect())
  const control = withBusControl(
    createRedisBroker({
      redis: inject('redisUrl'),
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: false,
    }),
  )
  const server = createServer({
    logger: (process.env.DEBUGLOG as 'info') ?? 'silent',
    broker: control.broker,
    public: true,
  })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: inject('redisUrl'), prefix })
  cleanup.push(() => pub.close())
  const first = await pub.publish('news', 'count', 0)
  for (let n = 1; n <= 20; n++) await pub.publish('news', 'count', n)
  // What the replica holds when the replication link stalls.
  const keys = await redis.keys(`${prefix}*`)
  const replica = await Promise.all(
    keys.map(async (key) => [key, await redis.dumpBuffer(key)] as const),
  )
  return {
    control,
    server,
    redis,
    keys: createKeys(prefix),
    url,
    pub,
    first,
    /** The master dies with the bus away; the replica is promoted and takes 41-70 and `end` (sequences 22-41 reused). */
    async failover() {
      control.busLost()
      await redis.del(...(await redis.keys(`${prefix}*`)))
      for (const [key, dump] of replica) if (dump) await redis.restore(key, 0, dump)
      for (let n = 41; n <= 70; n++) await pub.publish('news', 'count', n)
      await pub.publish('news', 'end', null)
      await waitFor(() => control.unheard.some((e) => e.type === 'end'), {
        what: 'the post-failover events to pass the node by',
      })
    },
  }
}

const POST_FAILOVER = Array.from({ length: 30 }, (_, i) => 41 + i)

describe('issue 14: a poll back while the bus is away after a failover to a lagging replica', () => {
  it('whose log check cannot read Redis is not answered from the new log: it gets the reset and every new event', async () => {
    const { control, url, pub, first, failover } = await setUp()
    const log: ChannelLog = { runs: [[]] }
    const types: string[] = []
    let cursor = first
    // A stream that keeps the channel heard on the node between polls.
    const sse = await recordSse(url, 'news')
    cleanup.push(() => sse.close())
    const poll = async () => {
      const res = await fetch(`${url}/poll?channel=news&lastEventId=${encodeURIComponent(cursor)}`)
      if (res.status !== 200) {
        await res.body?.cancel()
        return res.status
      }
      const body = (await res.json()) as PollResponse
      for (const e of body.events) {
        types.push(e.type)
        if (e.type === 'redisse:reset') log.runs.push([])
        else if (e.type === 'count') log.runs[log.runs.length - 1]?.push(Number(e.data))
      }
      if (body.lastEventId) cursor = body.lastEventId
      return res.status
    }

    for (let n = 21; n <= 40; n++) await pub.publish('news', 'count', n)
    while (!log.runs[0]?.includes(40)) await poll()
    await waitFor(() => sse.log.runs[0]?.includes(40), { what: 'events 1-40 on the stream' })

    await failover()

    // The poll comes back now: its check of the log cannot read the head.
    control.failHead(true)
    const statusWhileAway = await poll()
    control.failHead(false)
    control.busBack()

    for (let i = 0; i < 20 && !types.includes('end'); i++) await poll()
    await waitFor(() => types.includes('end'), { what: 'the end marker' })
    const audit = auditChannel(log, 70)
    expect(
      {
        statusWhileAway,
        lost: audit.lost,
        lostCounters: audit.lostCounters,
        dup: audit.duplicates,
      },
      types.join(' '),
    ).toEqual({ statusWhileAway: 503, lost: 0, lostCounters: [], dup: 0 })
    expect(types.filter((t) => t === 'redisse:reset')).toHaveLength(1)
    // Every post-failover event arrives after the reset.
    expect(log.runs[1]).toEqual(POST_FAILOVER)
    // The stream held through the outage is told too, and gets them all.
    await waitFor(() => sse.ended, { what: 'the end marker on the stream' })
    expect(sse.resets, sse.ids.join(' ')).toBe(1)
    expect(sse.log.runs[1]).toEqual(POST_FAILOVER)
  }, 20_000)

  it('nor is a recovery whose log check cannot read Redis: it checks again, then resets every stream and sends the new events', async () => {
    const { control, url, pub, failover } = await setUp()
    const sse = await recordSse(url, 'news')
    cleanup.push(() => sse.close())
    for (let n = 21; n <= 40; n++) await pub.publish('news', 'count', n)
    await waitFor(() => sse.log.runs[0]?.includes(40), { what: 'events 21-40 on the stream' })
    await failover()
    // The bus is back, but the recovery's first check of the log cannot read the head.
    control.failHead(true)
    control.busBack()
    await waitFor(() => control.headFailures > 0, { what: 'a failed check' })
    control.failHead(false)
    await waitFor(() => sse.ended, { what: 'the end marker on the stream' })
    // Before the fix: 61-70 and the end marker, read from the new log past
    // sequence 41, with no reset (41-60 skipped).
    expect({ resets: sse.resets, after: sse.log.runs[1] }, sse.ids.join(' ')).toEqual({
      resets: 1,
      after: POST_FAILOVER,
    })
  }, 20_000)

  it('nor is a recovery whose log check keeps failing: its streams end and hear nothing of the new log before a reset', async () => {
    const { control, url, pub, failover } = await setUp()
    const stream = await openSse(`${url}/?channel=news`)
    cleanup.push(() => stream.close())
    await stream.waitForComment('ok')
    for (let n = 21; n <= 40; n++) await pub.publish('news', 'count', n)
    await stream.waitForEvents(20)
    await failover()
    control.failHead(true)
    control.busBack()
    await waitFor(() => stream.isEnded || stream.events.some((e) => e.event === 'end'), {
      what: 'the stream to end or hear the end marker',
    })
    control.failHead(false)
    expect({ ended: stream.isEnded, after40: stream.events.slice(20).map((e) => e.data) }).toEqual({
      ended: true,
      after40: [],
    })
    // Back with its cursor (once more if the guard ends the first try, in
    // a replay of the old log), it is reset: its place is in no log any more.
    const cursor = encodeURIComponent(stream.events[19]?.id ?? '')
    let first: string | undefined
    for (let i = 0; i < 10 && first === undefined; i++) {
      const res = await fetch(`${url}/poll?channel=news&lastEventId=${cursor}`).catch(
        () => undefined,
      )
      if (res?.status === 200) first = ((await res.json()) as PollResponse).events[0]?.type
      else await res?.body?.cancel()
    }
    expect(first).toBe('redisse:reset')
  }, 20_000)

  // Seen in review: a regression found while the bus was away is served
  // once it is back; an envelope heard in between, of an epoch neither
  // followed nor retired, was taken as news, unconfirmed. A forged one
  // reset the stream and reached it, and every event after it was lost:
  // the stream stayed silent.
  it('nor is a forged envelope of another epoch heard as the bus comes back: one reset, every new event, the forgery dropped', async () => {
    const { control, server, redis, keys, url, pub, first, failover } = await setUp()
    const sse = await recordSse(url, 'news')
    cleanup.push(() => sse.close())
    for (let n = 21; n <= 40; n++) await pub.publish('news', 'count', n)
    await waitFor(() => sse.log.runs[0]?.includes(40), { what: 'events 21-40 on the stream' })
    await failover()
    // A poll while the bus is away finds the regression and replaces the
    // epoch; the streams are served once the bus is back.
    const epoch = await redis.get(keys.epoch)
    const polling = new AbortController()
    cleanup.push(() => polling.abort())
    fetch(`${url}/poll?channel=news&lastEventId=${encodeURIComponent(first)}`, {
      signal: polling.signal,
    }).catch(() => {})
    await waitFor(async () => (await redis.get(keys.epoch)) !== epoch, {
      what: 'the epoch replaced while the bus is away',
    })
    const before = server.stats().dropped.envelopes
    control.busBackHearing([
      { id: 'forged0epoch-9', channel: 'news', type: 'count', ts: Date.now(), data: '999' },
    ])
    // Not thrown here: the assertion below shows what the stream got instead.
    await waitFor(() => sse.ended, { what: 'the end marker', timeout: 10_000 }).catch(() => {})
    expect(
      { ended: sse.ended, resets: sse.resets, after: sse.log.runs.slice(1) },
      sse.ids.join(' '),
    ).toEqual({ ended: true, resets: 1, after: [POST_FAILOVER] })
    expect(server.stats().dropped.envelopes - before).toBe(1)
  }, 20_000)
})
