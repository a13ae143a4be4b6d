import { type Envelope, partitionOf } from '@redisse/protocol'
import { openSse, type SseStream, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import type { Broker, BrokerState } from '../src/broker/Broker'
import { createServer } from '../src/index'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'

const PARTITIONS = 4

/** The `n`-th channel name (from 0) that falls in `partition`. */
const channelOf = (partition: number, n = 0) => {
  let i = 0
  for (let found = -1; ; i++) {
    if (partitionOf(`ch${partition}.${i}`, PARTITIONS) === partition && ++found === n) break
  }
  return `ch${partition}.${i}`
}
const [A = '', B = '', C = '', D = ''] = [0, 1, 2, 3].map((p) => channelOf(p))
const A2 = channelOf(0, 1)
const query = (...channels: string[]) => `/?${channels.map((c) => `channel=${c}`).join('&')}`
/** `<epoch>.<seq base 36>` of a publish answer `epoch-seq@channel`. */
const placeOf = (id: string) => {
  const cursor = id.slice(0, id.indexOf('@'))
  const dash = cursor.lastIndexOf('-')
  return `${cursor.slice(0, dash)}.${Number(cursor.slice(dash + 1)).toString(36)}`
}

/**
 * The partitioned embedded broker with each partition's head() reads
 * counted, and partitions that can lose their bus as a Redis node would:
 * state `reconnecting`, and nothing heard, until restored.
 */
async function startCountedServer() {
  const inner = createPartitionedEmbeddedBroker(PARTITIONS)
  const heads = Array.from({ length: PARTITIONS }, () => 0)
  const lost = new Set<number>()
  const stateListeners = new Map<number, ((state: BrokerState) => void)[]>()
  const partitions = (inner.partitions ?? []).map(
    (broker, p): Broker => ({
      ...broker,
      get state() {
        return lost.has(p) ? 'reconnecting' : broker.state
      },
      head: () => {
        heads[p] = (heads[p] ?? 0) + 1
        return broker.head()
      },
      onEnvelope: (listener: (envelope: Envelope) => void) =>
        broker.onEnvelope((envelope) => {
          if (!lost.has(p)) listener(envelope)
        }),
      onState: (listener) => {
        stateListeners.set(p, [...(stateListeners.get(p) ?? []), listener])
        broker.onState(listener)
      },
    }),
  )
  const broker = new Proxy(inner, {
    get: (target, key) => (key === 'partitions' ? partitions : Reflect.get(target, key)),
  })
  const server = createServer({ logger: 'silent', public: true, broker })
  const { port } = await server.listen(0, '127.0.0.1')
  const emit = (p: number, state: BrokerState) => {
    for (const listener of stateListeners.get(p) ?? []) listener(state)
  }
  const streams: SseStream[] = []
  return {
    server,
    heads: () => heads.reduce((a, b) => a + b, 0),
    headsOf: (p: number) => heads[p] ?? 0,
    publish: (channel: string, data: unknown) =>
      server.broker.publish({ channel, type: 'm', data }),
    async open(path: string, headers: Record<string, string> = {}) {
      const stream = await openSse(`http://127.0.0.1:${port}${path}`, { headers })
      streams.push(stream)
      await stream.waitForComment('ok')
      return stream
    },
    loseBus(p: number) {
      lost.add(p)
      emit(p, 'reconnecting')
    },
    restoreBus(p: number) {
      lost.delete(p)
      emit(p, 'ready')
    },
    async [Symbol.asyncDispose]() {
      for (const stream of streams) stream.close()
      await server.close()
    },
  }
}

describe('a new stream over partitions starts at each partition head', () => {
  it('reads no head for streams that join channels a live partition already hears', async () => {
    await using srv = await startCountedServer()
    const first = await srv.open(query(A, B, C, D))
    const places = new Map<string, string>()
    for (const channel of [A, B, C, D]) places.set(channel, placeOf(await srv.publish(channel, 0)))
    await first.waitForEvents(4)
    const before = srv.heads()
    const streams: SseStream[] = []
    for (let i = 0; i < 20; i++) streams.push(await srv.open(query(A, B, C, D)))
    await waitFor(() => srv.server.stats().channels[A] === 21, { what: '21 streams on A' })
    const marker = await srv.publish(A, 'marker')
    const expected = [
      `0.${placeOf(marker)}`,
      `1.${places.get(B)}`,
      `2.${places.get(C)}`,
      `3.${places.get(D)}`,
    ].join('_')
    for (const stream of streams) {
      const [event] = await stream.waitForEvents(1)
      expect(event?.id).toBe(`${expected}@${A}`)
    }
    expect(srv.heads() - before).toBe(0)
  })

  it('places a channel the partition did not hear yet at the head, not at what the partition heard', async () => {
    await using srv = await startCountedServer()
    const first = await srv.open(query(A))
    await srv.publish(A, 'a0')
    await first.waitForEvents(1)
    // Partition 0 moves on while this node hears nothing of it.
    const unheard = placeOf(await srv.publish(A2, 'before'))
    const c0 = placeOf(await srv.publish(C, 'c0'))
    const stream = await srv.open(query(A2, C))
    await waitFor(() => srv.server.stats().channels[A2] === 1, { what: `${A2} heard` })
    const marker = await srv.publish(C, 'marker')
    const [event] = await stream.waitForEvents(1)
    expect(c0).not.toBe(placeOf(marker))
    expect(event?.id).toBe(`0.${unheard}_2.${placeOf(marker)}@${C}`)
    stream.close()
    // Resumed from that id, nothing from before the stream opened comes.
    const again = await srv.open(query(A2, C), { 'last-event-id': event?.id ?? '' })
    await srv.publish(A2, 'after')
    const events = await again.waitForEvents(1)
    expect(events.map((e) => JSON.parse(e.data))).toEqual(['after'])
  })

  it('reads the head for a stream that opens while its partition recovers, and loses or repeats nothing', async () => {
    await using srv = await startCountedServer()
    const first = await srv.open(query(A))
    await srv.publish(A, 'a0')
    await srv.publish(C, 'c0')
    await first.waitForEvents(1)
    srv.loseBus(0)
    await srv.publish(A, 'a1')
    const reads = srv.headsOf(0)
    const stream = await srv.open(query(A, C))
    await waitFor(() => srv.headsOf(0) > reads, { what: 'partition 0 head read' })
    srv.restoreBus(0)
    await waitFor(() => srv.server.stats().channels[A] === 2, { what: `two streams on ${A}` })
    const marker = await srv.publish(A, 'marker')
    await waitFor(() => stream.events.some((e) => e.data === '"marker"'), { what: 'the marker' })
    const events = stream.events
    const last = events[events.length - 1]
    expect(last?.data).toBe('"marker"')
    expect(last?.id?.startsWith(`0.${placeOf(marker)}_2.`)).toBe(true)
    stream.close()
    const again = await srv.open(query(A, C), { 'last-event-id': last?.id ?? '' })
    await srv.publish(A, 'after')
    const resumed = await again.waitForEvents(1)
    expect(resumed.map((e) => JSON.parse(e.data))).toEqual(['after'])
  })
})
