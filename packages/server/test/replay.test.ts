import { createKeys } from '@redisse/protocol'
import type { SseEvent } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { MATRIX, startServer } from './harness'

const dataOf = (events: SseEvent[]) =>
  events.filter((e) => e.event !== 'redisse:reset').map((e) => e.data)
const resetsOf = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'redisse:reset').map((e) => JSON.parse(e.data))

describe.each(MATRIX)('resuming from Last-Event-ID on the %s broker over %s', (kind, transport) => {
  it('replays every missed event of all channels in publish order, then goes live without duplicates', async () => {
    await using srv = await startServer(kind, { public: true }, { transport })
    const first = await srv.open('/?channel=a&channel=b')
    await srv.publish('a', 'm', 1)
    const [seen] = await first.waitForEvents(1)
    first.close()
    for (const [ch, n] of [
      ['b', 2],
      ['a', 3],
      ['b', 4],
    ] as const)
      await srv.publish(ch, 'm', n)
    const again = await srv.open('/?channel=a&channel=b', { 'last-event-id': seen?.id ?? '' })
    await srv.publish('a', 'm', 5)
    const events = await again.waitForEvents(4)
    expect(dataOf(events)).toEqual(['2', '3', '4', '5'])
    expect(events.map((e) => e.id?.split('@')[1])).toEqual(['b', 'a', 'b', 'a'])
    expect(resetsOf(events)).toEqual([])
  })

  it('resumes from the lastEventId query parameter too', async () => {
    await using srv = await startServer(kind, { public: true }, { transport })
    const id = await srv.publish('q', 'm', 'one')
    await srv.publish('q', 'm', 'two')
    const stream = await srv.open(`/?channel=q&lastEventId=${encodeURIComponent(id)}`)
    expect(dataOf(await stream.waitForEvents(1))).toEqual(['"two"'])
  })

  it('replays nothing and sends no reset from the newest event', async () => {
    await using srv = await startServer(kind, { public: true }, { transport })
    await srv.publish('n', 'm', 1)
    const newest = await srv.publish('n', 'm', 2)
    const stream = await srv.open('/?channel=n', { 'last-event-id': newest })
    await srv.publish('n', 'm', 3)
    expect(dataOf(await stream.waitForEvents(1))).toEqual(['3'])
    expect(stream.events).toHaveLength(1)
  })

  it('replays from one before the oldest held event, and resets from further back (trimmed)', async () => {
    await using srv = await startServer(
      kind,
      { public: true, history: { size: 3, ttl: 60_000 } },
      { transport },
    )
    const ids: string[] = []
    for (let i = 1; i <= 5; i++) ids.push(await srv.publish('h', 'm', i))
    const fromOldestHeld = await srv.open('/?channel=h', { 'last-event-id': ids[2] ?? '' })
    expect(dataOf(await fromOldestHeld.waitForEvents(2))).toEqual(['4', '5'])
    const fromOneBefore = await srv.open('/?channel=h', { 'last-event-id': ids[1] ?? '' })
    expect(dataOf(await fromOneBefore.waitForEvents(3))).toEqual(['3', '4', '5'])
    const trimmed = await srv.open('/?channel=h', { 'last-event-id': ids[0] ?? '' })
    const events = await trimmed.waitForEvents(1)
    expect(resetsOf(events)).toEqual([{ channels: ['h'], reason: 'history-gap' }])
    expect(dataOf(events)).toEqual([])
  })

  it('resets only the channels whose history lapsed (expired), replaying the others', async () => {
    await using srv = await startServer(
      kind,
      { public: true, history: { size: 100, ttl: 150 } },
      { transport },
    )
    const cursor = await srv.publish('elsewhere', 'm', 0)
    await srv.publish('lapse', 'm', 'lost')
    await new Promise((r) => setTimeout(r, 250))
    await srv.publish('lapse', 'm', 'new history')
    await srv.publish('keep', 'm', 'kept')
    const stream = await srv.open('/?channel=keep&channel=lapse', { 'last-event-id': cursor })
    const events = await stream.waitForEvents(2)
    expect(resetsOf(events)).toEqual([{ channels: ['lapse'], reason: 'history-gap' }])
    expect(dataOf(events)).toEqual(['"kept"'])
  })

  it('answers a garbage, future or foreign cursor with a reset carrying the head as id', async () => {
    await using srv = await startServer(kind, { public: true }, { transport })
    const head = await srv.publish('g', 'm', 1)
    const headCursor = head.split('@')[0]
    const [epoch, seq] = (headCursor ?? '').split('-')
    for (const [lastEventId, reason] of [
      ['garbage', 'invalid-cursor'],
      [`${epoch}-${Number(seq) + 10}@g`, 'invalid-cursor'],
      ['zzzzzzzz-1@g', 'epoch-changed'],
    ] as const) {
      const stream = await srv.open('/?channel=g', { 'last-event-id': lastEventId })
      const [reset] = await stream.waitForEvents(1)
      expect(reset?.event).toBe('redisse:reset')
      expect(reset?.id).toBe(headCursor)
      expect(JSON.parse(reset?.data ?? '')).toEqual({ channels: ['g'], reason })
    }
  })

  it('hands over from replay to live with no gap and no duplicate while events keep flowing', async () => {
    await using srv = await startServer(kind, { public: true }, { transport })
    const total = 1500
    let published = 0
    const publishing = (async () => {
      while (published < total) {
        await Promise.all(
          Array.from({ length: 10 }, () =>
            srv.publish(published % 2 ? 'x' : 'y', 'm', published++),
          ),
        )
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    const received: number[] = []
    let lastId = ''
    for (let round = 0; round < 4 && published < total; round++) {
      const stream = await srv.open(
        '/?channel=x&channel=y',
        lastId ? { 'last-event-id': lastId } : {},
      )
      await new Promise((r) => setTimeout(r, 120))
      stream.close()
      for (const e of stream.events) {
        expect(e.event).toBe('m')
        received.push(Number(e.data))
        lastId = e.id ?? lastId
      }
    }
    await publishing
    const final = await srv.open('/?channel=x&channel=y', lastId ? { 'last-event-id': lastId } : {})
    const firstSeen = received[0] ?? 0
    await final.waitForEvents(total - firstSeen - received.length, 10_000)
    for (const e of final.events) received.push(Number(e.data))
    expect(received).toEqual(Array.from({ length: total - firstSeen }, (_, i) => firstSeen + i))
  })
})

it('recognises cursors from before Redis lost its data (epoch changed)', async () => {
  await using srv = await startServer('redis', { public: true })
  const old = await srv.publish('e', 'm', 'before')
  const redis = new Redis(inject('redisUrl'))
  const keys = createKeys(srv.server.options.prefix)
  await redis.del(keys.epoch, keys.seq, keys.history('e'), keys.historyMeta('e'))
  redis.disconnect()
  const fresh = await srv.publish('e', 'm', 'after')
  const stream = await srv.open('/?channel=e', { 'last-event-id': old })
  const [reset] = await stream.waitForEvents(1)
  expect(JSON.parse(reset?.data ?? '')).toEqual({ channels: ['e'], reason: 'epoch-changed' })
  expect(reset?.id).toBe(fresh.split('@')[0])
  expect(fresh.split('-')[0]).not.toBe(old.split('-')[0])
})
