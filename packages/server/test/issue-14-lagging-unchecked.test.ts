import { type Envelope, type PollResponse, RedisseError } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
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

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo()
})

/**
 * The real Redis broker, whose bus the test takes away and brings back
 * (state changes, and envelopes not heard meanwhile) and whose head read
 * fails on demand, as when the connection drops with it in flight.
 */
function withBusControl(inner: Broker) {
  let away = false
  let failHead = false
  const stateListeners: Array<(state: BrokerState) => void> = []
  let onEnvelope: ((envelope: Envelope) => void) | undefined
  inner.onEnvelope((envelope) => {
    if (!away) onEnvelope?.(envelope)
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
    head: () =>
      failHead
        ? Promise.reject(
            new RedisseError('broker-unavailable', 'the Redis connection was lost: retry shortly'),
          )
        : inner.head(),
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
    busLost() {
      away = true
      setState('reconnecting')
    },
    busBack() {
      away = false
      setState('ready')
    },
    failHead(on: boolean) {
      failHead = on
    },
  }
}

describe('issue 14: a poll back while the bus is away after a failover to a lagging replica', () => {
  it('whose log check cannot read Redis is not answered from the new log: it gets the reset and every new event', async () => {
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
    const server = createServer({ logger: 'silent', broker: control.broker, public: true })
    cleanup.push(() => server.close())
    const { url } = await server.listen(0, '127.0.0.1')
    const pub = createPublisher({ redis: inject('redisUrl'), prefix })
    cleanup.push(() => pub.close())

    const log: ChannelLog = { runs: [[]] }
    const types: string[] = []
    let cursor = await pub.publish('news', 'count', 0)
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

    for (let n = 1; n <= 20; n++) await pub.publish('news', 'count', n)
    // What the replica holds when the replication link stalls.
    const keys = await redis.keys(`${prefix}*`)
    const replica = await Promise.all(
      keys.map(async (key) => [key, await redis.dumpBuffer(key)] as const),
    )
    for (let n = 21; n <= 40; n++) await pub.publish('news', 'count', n)
    while (!log.runs[0]?.includes(40)) await poll()
    await waitFor(() => sse.log.runs[0]?.includes(40), { what: 'events 1-40 on the stream' })

    // The master dies; the node's bus is away while the replica is promoted
    // and takes the post-failover publishes (sequences 22-41 reused).
    control.busLost()
    await redis.del(...(await redis.keys(`${prefix}*`)))
    for (const [key, dump] of replica) if (dump) await redis.restore(key, 0, dump)
    for (let n = 41; n <= 70; n++) await pub.publish('news', 'count', n)
    await pub.publish('news', 'end', null)

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
    expect(log.runs[1]).toEqual(Array.from({ length: 30 }, (_, i) => 41 + i))
  }, 20_000)
})
