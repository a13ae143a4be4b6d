import type { PollResponse } from '@redisse/protocol'
import { waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { BROKERS, call, startServer } from './harness'

/** One `GET /poll` answer: status, headers and the parsed body. */
async function poll(url: string, headers: Record<string, string> = {}) {
  const res = await call(url, { headers })
  return { ...res, body: res.body as PollResponse }
}

const cursorOf = (id: string) => id.split('@')[0] ?? ''

describe.each(BROKERS)('long polling (GET /poll) on the %s broker', (kind) => {
  it('answers at once without a cursor with no events and the head, then waits for the next live event', async () => {
    await using srv = await startServer(kind, { public: true })
    const head = await srv.publish('a', 'm', 'old')
    const first = await poll(`${srv.url}/poll?channel=a`)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(first.headers.get('cache-control')).toBe('no-store')
    expect(first.body).toEqual({ events: [], lastEventId: cursorOf(head) })

    const waiting = poll(
      `${srv.url}/poll?channel=a&lastEventId=${encodeURIComponent(first.body.lastEventId ?? '')}`,
    )
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    const id = await srv.publish('a', 'm', { text: 'new' })
    const second = await waiting
    expect(second.body).toEqual({
      events: [{ id: id, type: 'm', channel: 'a', data: { text: 'new' } }],
      lastEventId: id,
    })
  })

  it('answers at once with the events pending after the cursor, across channels in publish order', async () => {
    await using srv = await startServer(kind, { public: true })
    const start = await srv.publish('a', 'm', 0)
    await srv.publish('b', 'm', 1)
    await srv.publish('a', 'n', 2)
    await srv.publish('elsewhere', 'm', 'not mine')
    const before = Date.now()
    const res = await poll(`${srv.url}/poll?channel=a&channel=b`, { 'last-event-id': start })
    expect(Date.now() - before).toBeLessThan(1000)
    expect(res.body.events.map((e) => [e.channel, e.type, e.data])).toEqual([
      ['b', 'm', 1],
      ['a', 'n', 2],
    ])
    // The cursor moves to the head, past events of other channels.
    const head = await srv.server.broker.head()
    expect(res.body.lastEventId).toBe(`${head.epoch}-${head.seq}`)
  })

  it('waits up to poll.wait, then answers with no events and the same position', async () => {
    await using srv = await startServer(kind, { public: true, poll: { wait: 300 } })
    const id = await srv.publish('q', 'm', 1)
    const before = Date.now()
    const res = await poll(`${srv.url}/poll?channel=q&lastEventId=${id}`)
    const waited = Date.now() - before
    expect(waited).toBeGreaterThanOrEqual(280)
    expect(waited).toBeLessThan(2000)
    expect(res.body).toEqual({ events: [], lastEventId: cursorOf(id) })
  })

  it('gathers a burst of live events into one answer', async () => {
    await using srv = await startServer(kind, { public: true, poll: { coalesce: 300 } })
    const id = await srv.publish('burst', 'm', 0)
    const waiting = poll(`${srv.url}/poll?channel=burst&lastEventId=${id}`)
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    // Sent back to back (one connection keeps their order), not awaited one by one.
    await Promise.all([1, 2, 3].map((i) => srv.publish('burst', 'm', i)))
    expect((await waiting).body.events.map((e) => e.data)).toEqual([1, 2, 3])
  })

  it('bounds an answer to poll.maxEvents and continues from its last event on the next poll', async () => {
    await using srv = await startServer(kind, { public: true, poll: { maxEvents: 2 } })
    const start = await srv.publish('big', 'm', 0)
    for (let i = 1; i <= 5; i++) await srv.publish('big', 'm', i)
    const seen: unknown[] = []
    let cursor = start
    for (let round = 0; round < 3; round++) {
      const res = await poll(`${srv.url}/poll?channel=big&lastEventId=${cursor}`)
      expect(res.body.events.length).toBeLessThanOrEqual(2)
      seen.push(...res.body.events.map((e) => e.data))
      cursor = res.body.lastEventId ?? ''
    }
    expect(seen).toEqual([1, 2, 3, 4, 5])
  })

  it('answers a garbage cursor with redisse:reset and the head, and a trimmed gap with a reset', async () => {
    await using srv = await startServer(kind, { public: true, history: { size: 2, ttl: 60_000 } })
    const ids: string[] = []
    for (let i = 1; i <= 4; i++) ids.push(await srv.publish('r', 'm', i))
    const garbage = await poll(`${srv.url}/poll?channel=r&lastEventId=garbage`)
    expect(garbage.body).toEqual({
      events: [
        {
          id: cursorOf(ids[3] ?? ''),
          type: 'redisse:reset',
          data: { channels: ['r'], reason: 'invalid-cursor' },
        },
      ],
      lastEventId: cursorOf(ids[3] ?? ''),
    })
    const gap = await poll(`${srv.url}/poll?channel=r&lastEventId=${ids[0]}`)
    // As on the stream: a channel whose gap history cannot cover is reset, not replayed.
    expect(gap.body.events).toEqual([
      { type: 'redisse:reset', data: { channels: ['r'], reason: 'history-gap' } },
    ])
    expect(gap.body.lastEventId).toBe(cursorOf(ids[3] ?? ''))
  })

  it('waits for the first event when the log is empty and no cursor is given', async () => {
    await using srv = await startServer(kind, { public: true })
    const waiting = poll(`${srv.url}/poll?channel=first`)
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    const id = await srv.publish('first', 'm', 'hello')
    expect((await waiting).body).toEqual({
      events: [{ id: id, type: 'm', channel: 'first', data: 'hello' }],
      lastEventId: id,
    })
  })

  it('refuses like the stream: 401 without a token, 403 for a channel that is not public', async () => {
    await using srv = await startServer(kind, { tokens: true })
    const res = await call(`${srv.url}/poll`)
    expect(res.status).toBe(401)
    expect(res.body).toMatchObject({ error: { code: 'unauthorized' } })
    await using pub = await startServer(kind, { public: ['news'] })
    expect((await call(`${pub.url}/poll?channel=secret`)).status).toBe(403)
  })

  it('hears token channels and is answered when its channels are revoked', async () => {
    await using srv = await startServer(kind, { tokens: true })
    const token = await srv.server.broker.subjects.generateToken('ann')
    await srv.server.broker.subjects.addChannel('ann', 'inbox:ann')
    const before = await srv.publish('inbox:ann', 'm', 'before')
    await srv.publish('inbox:ann', 'm', 'hi')
    const res = await poll(`${srv.url}/poll?lastEventId=${before}`, {
      authorization: `Bearer ${token}`,
    })
    expect(res.body.events.map((e) => e.data)).toEqual(['hi'])
    const waiting = poll(`${srv.url}/poll?lastEventId=${res.body.lastEventId}`, {
      authorization: `Bearer ${token}`,
    })
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    await srv.server.broker.subjects.clear('ann')
    expect((await waiting).body.events).toEqual([])
    expect((await call(`${srv.url}/poll?access_token=${token}`)).status).toBe(401)
  })
})

describe('long polling on the embedded broker', () => {
  it('sends CORS headers like the stream and answers preflights', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      cors: { origin: ['https://app.example'] },
    })
    await srv.publish('c', 'm', 1)
    const res = await call(`${srv.url}/poll?channel=c`, {
      headers: { origin: 'https://app.example' },
    })
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example')
    const preflight = await call(`${srv.url}/poll?channel=c`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example' },
    })
    expect(preflight.status).toBe(204)
  })

  it('counts a waiting poll against limits.connections', async () => {
    await using srv = await startServer('embedded', { public: true, limits: { connections: 1 } })
    const id = await srv.publish('l', 'm', 1)
    const waiting = poll(`${srv.url}/poll?channel=l&lastEventId=${id}`)
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    const refused = await call(`${srv.url}/poll?channel=l&lastEventId=${id}`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    await srv.publish('l', 'm', 2)
    expect((await waiting).body.events.map((e) => e.data)).toEqual([2])
  })

  it('counts polls in /stats and /metrics', async () => {
    await using srv = await startServer('embedded', { public: true, stats: 'public' })
    await srv.publish('s', 'm', 1)
    await call(`${srv.url}/poll?channel=s`)
    await call(`${srv.url}/poll?channel=s`)
    expect(srv.server.stats().events.polls).toBe(2)
    const metrics = await call(`${srv.url}/metrics`)
    expect(metrics.body).toContain('redisse_polls_total 2\n')
    expect(metrics.body).toContain('redisse_transport_connections{transport="poll"} 0\n')
  })

  it('answers a waiting poll when the server closes', async () => {
    const srv = await startServer('embedded', { public: true })
    const id = await srv.publish('z', 'm', 1)
    const waiting = poll(`${srv.url}/poll?channel=z&lastEventId=${id}`)
    await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
    const before = Date.now()
    await srv.server.close()
    const res = await waiting
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ events: [], lastEventId: cursorOf(id) })
    expect(Date.now() - before).toBeLessThan(1000)
  })
})
