import { connect } from 'node:net'
import type { PollResponse } from '@redisse/protocol'
import { openWs, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import type { CloseReason, PushConnection } from '../src/index'
import { call, startServer, TRANSPORTS, type TransportKind } from './harness'

/** A client that connects, then stops reading until `resume()`. */
async function openPaused(url: string, transport: TransportKind, path: string) {
  if (transport === 'websocket') {
    const ws = await openWs(url + path)
    ws.ws?.pause()
    return { resume: () => ws.ws?.resume(), close: () => ws.close() }
  }
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`)
  socket.pause()
  socket.on('data', () => {})
  return { resume: () => socket.resume(), close: () => socket.destroy() }
}

describe.each(TRANSPORTS)('push handler over %s', (transport) => {
  it('calls onOpen once the stream is live and onClose with the reason, with the connection details', async () => {
    const events: Array<[string, number, string, string[], string | undefined, CloseReason?]> = []
    await using srv = await startServer(
      'embedded',
      {
        tokens: true,
        push: {
          onOpen: (c) => events.push(['open', c.id, c.transport, [...c.channels], c.subject]),
          onClose: (c, reason) =>
            events.push(['close', c.id, c.transport, [...c.channels], c.subject, reason]),
        },
      },
      { transport },
    )
    const token = await srv.server.broker.subjects.generateToken('p1')
    await srv.server.broker.subjects.addChannel('p1', 'inbox')
    const stream = await srv.open(`/?access_token=${token}`)
    expect(events).toEqual([['open', expect.any(Number), transport, ['inbox'], 'p1']])
    stream.close()
    await waitFor(() => events.length === 2, { what: 'onClose' })
    expect(events[1]).toEqual(['close', events[0]?.[1], transport, [], 'p1', 'client-closed'])
  })

  it('writes app events to one connection with conn.write, without an id', async () => {
    await using srv = await startServer(
      'embedded',
      { public: true, push: { onOpen: (c) => c.write('greeting', { hi: c.transport }) } },
      { transport },
    )
    const stream = await srv.open('/?channel=a')
    const [event] = await stream.waitForEvents(1)
    expect(event).toEqual({
      id: undefined,
      event: 'greeting',
      data: JSON.stringify({ hi: transport }),
    })
    if (transport === 'sse')
      expect(stream.raw).toContain(':ok\nevent: greeting\ndata: {"hi":"sse"}\n\n')
  })

  it('lets the app subscribe and unsubscribe a connection, within limits.channelsPerConnection', async () => {
    let conn: PushConnection | undefined
    await using srv = await startServer(
      'embedded',
      {
        public: true,
        limits: { channelsPerConnection: 2 },
        push: { onOpen: (c) => (conn = c) },
      },
      { transport },
    )
    const stream = await srv.open('/?channel=a')
    await conn?.subscribe('extra')
    expect(srv.server.stats().channels).toEqual({ a: 1, extra: 1 })
    await expect(conn?.subscribe('third')).rejects.toMatchObject({ code: 'too-many-channels' })
    await expect(conn?.subscribe('bad name')).rejects.toMatchObject({ code: 'invalid-channel' })
    await srv.publish('extra', 'm', 1)
    await stream.waitForEvents(1)
    conn?.unsubscribe('extra')
    await srv.publish('extra', 'm', 2)
    await srv.publish('a', 'm', 3)
    await stream.waitForEvents(2)
    expect(stream.events.map((e) => e.data)).toEqual(['1', '3'])
    expect(() => conn?.write('redisse:x', 1)).toThrow(
      expect.objectContaining({ code: 'reserved-event-type' }),
    )
  })

  it('shows pending growing while the client does not read, shrinking after, and calls onDrained', async () => {
    let conn: PushConnection | undefined
    const drained: number[] = []
    await using srv = await startServer(
      'embedded',
      {
        public: true,
        limits: { bufferBytes: 64 * 1024 * 1024 },
        push: { onOpen: (c) => (conn = c), onDrained: (c) => drained.push(c.id) },
      },
      { transport },
    )
    const client = await openPaused(srv.url, transport, '/?channel=a')
    await waitFor(() => conn !== undefined, { what: 'onOpen' })
    const chunk = 'x'.repeat(64 * 1024)
    const seen: number[] = []
    for (let i = 0; i < 200 && (conn?.pending ?? 0) < 1024 * 1024; i++) {
      conn?.write('fill', chunk)
      seen.push(conn?.pending ?? 0)
      await new Promise((r) => setTimeout(r, 1))
    }
    expect(conn?.pending).toBeGreaterThan(1024 * 1024)
    // Growing: once the kernel buffers are full, every write adds to the backlog.
    expect(seen.at(-1)).toBeGreaterThan(seen[Math.floor(seen.length / 2)] ?? 0)
    // Stuck: nothing drains while the client does not read. (Drains before
    // the kernel buffers filled up were real ones, and counted.)
    const stuck = conn?.pending
    const before = drained.length
    await new Promise((r) => setTimeout(r, 150))
    expect(conn?.pending).toBe(stuck)
    expect(drained.length).toBe(before)
    client.resume()
    await waitFor(() => drained.length === before + 1, { what: 'onDrained', timeout: 10_000 })
    expect(drained.at(-1)).toBe(conn?.id)
    expect(conn?.pending).toBe(0)
    client.close()
  })

  it('calls onShutdown on every connection before closing it, and waits at most shutdownTimeout', async () => {
    const srv = await startServer(
      'embedded',
      {
        public: true,
        push: {
          onShutdown: (c) => {
            c.write('bye', c.id)
            return new Promise(() => {}) // never settles: the bounded wait ends it
          },
          shutdownTimeout: 300,
        },
      },
      { transport },
    )
    const streams = [await srv.open('/?channel=a'), await srv.open('/?channel=b')]
    const before = Date.now()
    await srv.server.close()
    const took = Date.now() - before
    expect(took).toBeGreaterThanOrEqual(280)
    expect(took).toBeLessThan(2500)
    for (const s of streams) {
      await s.ended
      expect(s.events.map((e) => e.event)).toEqual(['bye'])
    }
    await srv[Symbol.asyncDispose]()
  })
})

describe('push handler, transport specifics', () => {
  it('echoes WebSocket messages through onMessage', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      push: { onMessage: (c, data) => c.write('echo', { data, from: c.transport }) },
    })
    const ws = await openWs(`${srv.url}/?channel=a`)
    await ws.waitForFrames(1)
    ws.send('hello')
    ws.send('again')
    const frames = await ws.waitForFrames(3)
    expect(frames.slice(1)).toEqual([
      { type: 'echo', data: { data: 'hello', from: 'websocket' } },
      { type: 'echo', data: { data: 'again', from: 'websocket' } },
    ])
    expect(srv.server.stats().events.messages).toBe(2)
    ws.close()
  })

  it('closes with 1003 a binary message even with onMessage', async () => {
    await using srv = await startServer('embedded', { public: true, push: { onMessage: () => {} } })
    const ws = await openWs(`${srv.url}/?channel=a`)
    await ws.waitForFrames(1)
    ws.send(Buffer.from([1, 2, 3]))
    expect(await ws.closed).toEqual({ code: 1003, reason: 'binary messages are not accepted' })
  })

  it('answers a poll at once with what onOpen wrote, and calls onClose with answered', async () => {
    const reasons: string[] = []
    await using srv = await startServer('embedded', {
      public: true,
      push: {
        onOpen: (c) => c.write('hello', c.transport),
        onClose: (_c, reason) => reasons.push(reason),
      },
    })
    const id = await srv.publish('a', 'm', 0)
    const res = await call(`${srv.url}/poll?channel=a&lastEventId=${id}`)
    expect((res.body as PollResponse).events).toEqual([{ type: 'hello', data: 'poll' }])
    await waitFor(() => reasons.length === 1, { what: 'onClose' })
    expect(reasons).toEqual(['answered'])
  })

  it('keeps serving when a push callback throws', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      push: {
        onOpen: () => {
          throw new Error('app bug')
        },
      },
    })
    const stream = await srv.open('/?channel=a')
    await srv.publish('a', 'm', 1)
    expect((await stream.waitForEvents(1))[0]?.data).toBe('1')
  })
})
