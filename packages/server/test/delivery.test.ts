import { waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { BROKERS, MATRIX, startServer } from './harness'

describe.each(BROKERS)('SSE wire format on the %s broker', (kind) => {
  it('answers with stream headers, retry and :ok before any event', async () => {
    await using srv = await startServer(kind, { channels: () => ['a'], retry: 1234 })
    const stream = await srv.open()
    expect(stream.status).toBe(200)
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform')
    expect(stream.headers['x-accel-buffering']).toBe('no')
    expect(stream.headers.connection).toBe('keep-alive')
    expect(stream.raw).toBe('retry: 1234\n:ok\n')
    expect(stream.retry).toBe(1234)
  })

  it('writes exact bytes for an event: id with channel, type, JSON data', async () => {
    await using srv = await startServer(kind, { channels: () => ['news'] })
    const stream = await srv.open()
    const id = await srv.publish('news', 'headline', { text: 'a\nb', n: 1 })
    await stream.waitForEvents(1)
    expect(stream.raw).toBe(
      `retry: 5000\n:ok\nid: ${id}\nevent: headline\ndata: {"text":"a\\nb","n":1}\n\n`,
    )
  })

  it('sends a keep-alive comment every keepAlive interval', async () => {
    await using srv = await startServer(kind, { channels: () => ['a'], keepAlive: 50 })
    const stream = await srv.open()
    await waitFor(() => stream.raw.split(':\n').length > 3, { what: 'three keep-alives' })
    expect(stream.comments.filter((c) => c === '').length).toBeGreaterThanOrEqual(3)
  })
})

describe.each(MATRIX)('delivery on the %s broker over %s', (kind, transport) => {
  it('delivers events of two channels in publish order over one connection', async () => {
    await using srv = await startServer(
      kind,
      { channels: () => ['room:1', 'room:2'] },
      { transport },
    )
    const stream = await srv.open()
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      ids.push(await srv.publish(i % 2 ? 'room:2' : 'room:1', 'message', { i }))
    }
    const events = await stream.waitForEvents(20)
    expect(events.map((e) => JSON.parse(e.data).i)).toEqual([...Array(20).keys()])
    expect(events.map((e) => e.id)).toEqual(ids)
    expect(events[1]?.id).toMatch(/^[0-9a-z]+-\d+@room:2$/)
    expect(events.every((e) => e.event === 'message')).toBe(true)
  })

  it('never delivers events of channels the connection was not granted', async () => {
    await using srv = await startServer(
      kind,
      {
        channels: (req) => (req.url?.includes('who=a') ? ['private:a'] : ['private:b']),
      },
      { transport },
    )
    const a = await srv.open('/?who=a')
    const b = await srv.open('/?who=b')
    await srv.publish('private:b', 'secret', { for: 'b' })
    await srv.publish('private:a', 'secret', { for: 'a' })
    await a.waitForEvents(1)
    await b.waitForEvents(1)
    await new Promise((r) => setTimeout(r, 50))
    expect(a.events.map((e) => JSON.parse(e.data).for)).toEqual(['a'])
    expect(b.events.map((e) => JSON.parse(e.data).for)).toEqual(['b'])
  })

  it('sends the channel name as the event type with channelAsEvent', async () => {
    await using srv = await startServer(
      kind,
      { channels: () => ['ticker'], channelAsEvent: true },
      { transport },
    )
    const stream = await srv.open()
    await srv.publish('ticker', 'price', 42)
    const [event] = await stream.waitForEvents(1)
    expect(event?.event).toBe('ticker')
    expect(event?.data).toBe('42')
  })

  it('frees connections and bus subscriptions when clients disconnect', async () => {
    await using srv = await startServer(kind, { channels: () => ['x', 'y'] }, { transport })
    const streams = await Promise.all([srv.open(), srv.open(), srv.open()])
    expect(srv.server.stats().connections).toBe(3)
    expect(srv.server.stats().channels).toEqual({ x: 3, y: 3 })
    for (const s of streams) s.close()
    await waitFor(() => srv.server.stats().connections === 0, { what: 'connections closed' })
    expect(srv.server.stats().channels).toEqual({})
    if (kind === 'redis') {
      const redis = new Redis(inject('redisUrl'))
      try {
        const prefix = srv.server.options.prefix
        await waitFor(async () => (await redis.pubsub('CHANNELS', `${prefix}ch:*`)).length === 0, {
          what: 'redis unsubscribed',
        })
      } finally {
        redis.disconnect()
      }
    }
  })

  it('ends every stream on close()', async () => {
    const srv = await startServer(kind, { channels: () => ['a'] }, { transport })
    const stream = await srv.open()
    await srv.server.close()
    await stream.ended
    expect(stream.isEnded).toBe(true)
    await srv[Symbol.asyncDispose]()
  })
})

describe('one bus subscription per channel', () => {
  it('uses a single Redis subscriber connection for many streams and channels', async () => {
    await using srv = await startServer('redis', { channels: () => ['c1', 'c2', 'c3'] })
    const redis = new Redis(inject('redisUrl'))
    try {
      const before = (await redis.client('LIST')) as string
      await Promise.all(Array.from({ length: 20 }, () => srv.open()))
      const after = (await redis.client('LIST')) as string
      expect(after.split('\n').length).toBe(before.split('\n').length)
      const prefix = srv.server.options.prefix
      const counts = (await redis.pubsub('NUMSUB', `${prefix}ch:c1`, `${prefix}ch:c2`)) as Array<
        string | number
      >
      expect(counts).toEqual([`${prefix}ch:c1`, 1, `${prefix}ch:c2`, 1])
    } finally {
      redis.disconnect()
    }
  })
})
