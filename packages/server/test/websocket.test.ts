import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WsCloseCodes } from '@redisse/protocol'
import { openWs, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { createServer } from '../src/index'
import { BROKERS, startServer } from './harness'

describe.each(BROKERS)('WebSocket streams on the %s broker', (kind) => {
  it('upgrades on the stream path, sends redisse:ready, then one exact JSON text frame per event', async () => {
    await using srv = await startServer(kind, { channels: () => ['news'] })
    const ws = await openWs(srv.url)
    expect(ws.status).toBe(101)
    expect(ws.headers['sec-websocket-extensions']).toBeUndefined()
    await ws.waitForFrames(1)
    const id = await srv.publish('news', 'headline', { text: 'a\nb', n: 1 })
    await ws.waitForFrames(2)
    const raw: string[] = []
    ws.ws?.on('message', (data) => raw.push(String(data)))
    const id2 = await srv.publish('news', 'headline', [1])
    await waitFor(() => raw.length === 1, { what: 'raw frame' })
    expect(ws.frames).toEqual([
      { type: 'redisse:ready', data: null },
      { id, type: 'headline', channel: 'news', data: { text: 'a\nb', n: 1 } },
      { id: id2, type: 'headline', channel: 'news', data: [1] },
    ])
    expect(raw).toEqual([`{"id":"${id2}","type":"headline","channel":"news","data":[1]}`])
    ws.close()
  })

  it('answers 401 as plain HTTP before any upgrade, with the JSON error body', async () => {
    await using srv = await startServer(kind, { tokens: true })
    const ws = await openWs(srv.url)
    expect(ws.status).toBe(401)
    expect(ws.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(ws.body)).toMatchObject({ error: { code: 'unauthorized' } })
    expect(srv.server.stats().connections).toBe(0)
  })

  it('closes with 4001 when a subject loses its last channel, and 1001 on server close', async () => {
    const srv = await startServer(kind, { tokens: true })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('w1')
    await subjects.addChannel('w1', 'c')
    const revoked = await openWs(`${srv.url}/?access_token=${token}`)
    const other = await openWs(`${srv.url}/?access_token=${token}`)
    await other.waitForFrames(1)
    await subjects.removeChannel('w1', 'c')
    expect(await revoked.closed).toEqual({
      code: WsCloseCodes.channelsRevoked,
      reason: 'channels revoked',
    })
    await other.closed
    await subjects.addChannel('w1', 'd')
    const last = await openWs(`${srv.url}/?access_token=${token}`)
    await last.waitForFrames(1)
    await srv.server.close()
    expect(await last.closed).toEqual({ code: 1001, reason: 'server shutting down' })
    await srv[Symbol.asyncDispose]()
  })
})

describe('WebSocket transport', () => {
  it('refuses a browser upgrade from a foreign origin unless cors.origin allows it', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      cors: { origin: ['https://app.example'] },
    })
    const foreign = await openWs(`${srv.url}/?channel=a`, {
      headers: { origin: 'https://evil.example' },
    })
    expect(foreign.status).toBe(403)
    expect(JSON.parse(foreign.body).error.message).toContain('cors.origin')
    const allowed = await openWs(`${srv.url}/?channel=a`, {
      headers: { origin: 'https://app.example' },
    })
    expect(allowed.status).toBe(101)
    const sameOrigin = await openWs(`${srv.url}/?channel=a`, {
      headers: { origin: srv.url },
    })
    expect(sameOrigin.status).toBe(101)
    allowed.close()
    sameOrigin.close()
  })

  it('answers 503 with Retry-After beyond limits.connections, counting streams of both transports', async () => {
    await using srv = await startServer('embedded', { public: true, limits: { connections: 2 } })
    await srv.open('/?channel=a')
    const ws = await openWs(`${srv.url}/?channel=a`)
    await ws.waitForFrames(1)
    const refused = await openWs(`${srv.url}/?channel=a`)
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('5')
    expect(srv.server.stats().transports).toEqual({ sse: 1, websocket: 1, poll: 0 })
    ws.close()
  })

  it('pings every keepAlive interval and closes a client that stops answering', async () => {
    await using srv = await startServer('embedded', { public: true, keepAlive: 40 })
    const ws = await openWs(`${srv.url}/?channel=a`)
    let pings = 0
    ws.ws?.on('ping', () => pings++)
    await waitFor(() => pings >= 3, { what: 'three pings' })
    expect(ws.isClosed).toBe(false)
    // A peer that is gone never pongs: ws answers pings itself, so cut it off.
    ws.ws?.pause()
    await waitFor(() => srv.server.stats().connections === 0, { what: 'dead client closed' })
    ws.close()
  })

  it('closes with 1003 when a client sends a message and there is no push.onMessage', async () => {
    await using srv = await startServer('embedded', { public: true })
    const ws = await openWs(`${srv.url}/?channel=a`)
    await ws.waitForFrames(1)
    ws.send('hello')
    expect(await ws.closed).toEqual({
      code: WsCloseCodes.messagesNotAccepted,
      reason: 'client messages are not accepted (no push.onMessage)',
    })
    await waitFor(() => srv.server.stats().connections === 0, { what: 'closed' })
  })

  it('closes with 1009 a message over websocket.maxMessageBytes', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      websocket: { maxMessageBytes: 100 },
      push: { onMessage: () => {} },
    })
    const ws = await openWs(`${srv.url}/?channel=a`)
    await ws.waitForFrames(1)
    ws.send('x'.repeat(101))
    expect((await ws.closed).code).toBe(WsCloseCodes.messageTooLarge)
  })

  it('refuses upgrades with 404 when websocket is false, and off the stream path', async () => {
    await using srv = await startServer('embedded', { public: true, websocket: false })
    expect((await openWs(`${srv.url}/?channel=a`)).status).toBe(404)
    await using on = await startServer('embedded', { public: true })
    expect((await openWs(`${on.url}/stats`)).status).toBe(404)
  })

  it('disconnects a WebSocket client that stops reading (bufferedAmount) while a fast one gets everything', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      limits: { bufferBytes: 64 * 1024 },
    })
    const fast = await openWs(`${srv.url}/?channel=flood`)
    const slow = await openWs(`${srv.url}/?channel=flood`)
    await fast.waitForFrames(1)
    await slow.waitForFrames(1)
    slow.ws?.pause()
    const payload = 'x'.repeat(8000)
    let sent = 0
    while (srv.server.stats().dropped.slowClients === 0 && sent < 4000) {
      for (let i = 0; i < 4; i++) await srv.publish('flood', 'm', { i: sent++, payload })
      await new Promise((r) => setTimeout(r, 1))
    }
    expect(srv.server.stats().dropped.slowClients).toBe(1)
    const frames = await fast.waitForFrames(sent + 1, 10_000)
    expect(frames.slice(1).map((f) => (f.data as { i: number }).i)).toEqual([...Array(sent).keys()])
    expect(srv.server.stats().transports.websocket).toBe(1)
    slow.close()
    fast.close()
  })

  it('serves upgrades handed to server.upgrade by an app that owns the HTTP server', async () => {
    const redisse = createServer({ logger: 'silent', channels: () => ['mine'] })
    const http = createHttpServer((req, res) => {
      if (req.url?.startsWith('/events')) redisse.handler(req, res)
      else res.end('app')
    })
    http.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/events')) redisse.upgrade(req, socket, head)
      else socket.destroy()
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    try {
      const ws = await openWs(`${url}/events`)
      await ws.waitForFrames(1)
      await redisse.broker.publish({ channel: 'mine', type: 'm', data: 1 })
      expect((await ws.waitForFrames(2))[1]).toMatchObject({ channel: 'mine', data: 1 })
      ws.close()
    } finally {
      await redisse.close()
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    }
  })
})
