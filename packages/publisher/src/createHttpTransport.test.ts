import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RedisseError } from '@redisse/protocol'
import { freePort } from '@redisse/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { createHttpTransport } from './createHttpTransport'

const KEY = 'sk_test_0123456789abcdef'

interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
}

type Answer = { status: number; body: string } | 'hang'

/**
 * A real HTTP server standing for a Redisse server: it records each request
 * and answers what `answer` says. Disposable.
 */
async function startFakeServer(answer: (req: Received) => Answer) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body }
      received.push(request)
      const reply = answer(request)
      if (reply === 'hang') return
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value) })

/** The error a promise rejects with; fails when it resolves. */
const rejection = (promise: Promise<unknown>): Promise<RedisseError> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`)
    },
    (err: RedisseError) => err,
  )

type Events = { message: { text: string }; typing: { user: string } }

describe('HTTP transport: publishing', () => {
  it('POSTs one event to /publish with the key and JSON, and returns the id', async () => {
    await using srv = await startFakeServer(() => json(200, { id: 'abc-1@room:1' }))
    const pub = createHttpTransport<Events>({ url: srv.url, key: KEY })
    expect(await pub.publish('room:1', 'message', { text: 'x\ny' })).toBe('abc-1@room:1')
    expect(srv.received).toHaveLength(1)
    const [req] = srv.received
    expect(req).toMatchObject({ method: 'POST', path: '/publish' })
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(req?.headers['content-type']).toBe('application/json')
    expect(req?.body).toBe('{"channel":"room:1","type":"message","data":{"text":"x\\ny"}}')
  })

  it('sends the idempotency key with the event', async () => {
    await using srv = await startFakeServer(() => json(200, { id: 'abc-2@c' }))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await pub.publish('c', 't', null, { idempotencyKey: 'order-7' })
    expect(JSON.parse(srv.received[0]?.body ?? '')).toEqual({
      channel: 'c',
      type: 't',
      data: null,
      idempotencyKey: 'order-7',
    })
  })

  it('POSTs a batch as { events } and returns its ids; an empty batch sends nothing', async () => {
    await using srv = await startFakeServer(() => json(200, { ids: ['e-1@a', 'e-2@b'] }))
    const pub = createHttpTransport<Events>({ url: srv.url, key: KEY })
    const ids = await pub.publishMany([
      { channel: 'a', type: 'message', data: { text: 'hi' } },
      { channel: 'b', type: 'typing', data: { user: 'u' }, idempotencyKey: 'k1' },
    ])
    expect(ids).toEqual(['e-1@a', 'e-2@b'])
    expect(srv.received[0]?.path).toBe('/publish')
    expect(JSON.parse(srv.received[0]?.body ?? '')).toEqual({
      events: [
        { channel: 'a', type: 'message', data: { text: 'hi' } },
        { channel: 'b', type: 'typing', data: { user: 'u' }, idempotencyKey: 'k1' },
      ],
    })
    expect(await pub.publishMany([])).toEqual([])
    expect(srv.received).toHaveLength(1)
  })

  it('keeps a path prefix of the url and ignores a trailing slash', async () => {
    await using srv = await startFakeServer(() => json(200, { id: 'e-1@c' }))
    const pub = createHttpTransport({ url: `${srv.url}/redisse/`, key: KEY })
    await pub.publish('c', 't', 1)
    expect(srv.received[0]?.path).toBe('/redisse/publish')
  })

  it('validates channel, type, payload and the whole batch before sending anything', async () => {
    await using srv = await startFakeServer(() => json(200, { id: 'e-1@c' }))
    const pub = createHttpTransport({ url: srv.url, key: KEY, maxPayloadBytes: 10 })
    const cases: Array<[Promise<unknown>, string]> = [
      [pub.publish('bad channel', 't', 1), 'invalid-channel'],
      [pub.publish('c', 'redisse:reset', 1), 'reserved-event-type'],
      [pub.publish('c', 'a\nb', 1), 'invalid-event-type'],
      [pub.publish('c', 't', 'x'.repeat(20)), 'payload-too-large'],
      [pub.publish('c', 't', () => 1), 'invalid-payload'],
      [
        pub.publishMany([
          { channel: 'c', type: 't', data: 1 },
          { channel: 'c', type: '', data: 1 },
        ]),
        'invalid-event-type',
      ],
    ]
    for (const [promise, code] of cases) {
      await expect(promise).rejects.toMatchObject({ name: 'RedisseError', code })
    }
    expect(srv.received).toEqual([])
  })

  it('uses the fetch it is given', async () => {
    const fetch = vi.fn(async () => new Response('{"id":"e-9@c"}', { status: 200 }))
    const pub = createHttpTransport({ url: 'http://redisse.invalid', key: KEY, fetch })
    expect(await pub.publish('c', 't', 1)).toBe('e-9@c')
    expect(fetch).toHaveBeenCalledWith(
      'http://redisse.invalid/publish',
      expect.objectContaining({ method: 'POST' }),
    )
  })
})

describe('HTTP transport: subjects', () => {
  it('calls the documented subject endpoints with encoded segments', async () => {
    await using srv = await startFakeServer((req) => {
      if (req.path.endsWith('/revoke')) return json(200, { revoked: true })
      if (req.method === 'POST') return json(201, { token: 'raw-token' })
      if (req.method === 'PUT') return json(200, { added: true })
      if (req.method === 'GET') return json(200, { channels: ['room:2', 'room:1'] })
      if (req.path.includes('/channels/')) return json(200, { removed: false })
      return json(200, { cleared: true })
    })
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    const user = pub.subject('ann/1')
    expect(user.id).toBe('ann/1')
    expect(await user.generateToken({ ttl: 60_000 })).toBe('raw-token')
    expect(await user.generateToken()).toBe('raw-token')
    expect(await user.addChannel('room:1')).toBe(true)
    expect(await user.removeChannel('room/2')).toBe(false)
    expect(await user.channels()).toEqual(['room:1', 'room:2'])
    expect(await user.revokeToken('raw-token')).toBe(true)
    await user.clear()
    expect(srv.received.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/subjects/ann%2F1/tokens', '{"ttl":60000}'],
      ['POST', '/subjects/ann%2F1/tokens', '{}'],
      ['PUT', '/subjects/ann%2F1/channels/room%3A1', ''],
      ['DELETE', '/subjects/ann%2F1/channels/room%2F2', ''],
      ['GET', '/subjects/ann%2F1/channels', ''],
      ['POST', '/subjects/ann%2F1/tokens/revoke', '{"token":"raw-token"}'],
      ['DELETE', '/subjects/ann%2F1', ''],
    ])
    for (const req of srv.received) expect(req.headers.authorization).toBe(`Bearer ${KEY}`)
  })

  it('validates subject ids, channels and token ttl locally', async () => {
    await using srv = await startFakeServer(() => json(200, {}))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    expect(() => pub.subject('has space')).toThrow(
      expect.objectContaining({ code: 'invalid-subject' }),
    )
    await expect(pub.subject('u').addChannel('a b')).rejects.toMatchObject({
      code: 'invalid-channel',
    })
    await expect(pub.subject('u').generateToken({ ttl: 0 })).rejects.toMatchObject({
      code: 'invalid-ttl',
    })
    for (const token of ['', 'x'.repeat(513), 42 as unknown as string]) {
      await expect(pub.subject('u').revokeToken(token)).rejects.toMatchObject({
        code: 'invalid-token',
      })
    }
    expect(srv.received).toEqual([])
  })
})

describe('HTTP transport: errors', () => {
  it('throws the server error’s code, message and status', async () => {
    await using srv = await startFakeServer(() =>
      json(403, { error: { code: 'forbidden', message: 'wrong publish key' } }),
    )
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    const err = await rejection(pub.publish('c', 't', 1))
    expect(err).toMatchObject({
      name: 'RedisseError',
      code: 'forbidden',
      status: 403,
      message: 'wrong publish key',
    })
  })

  it('keeps a 503 publish-timeout from the server as it is', async () => {
    await using srv = await startFakeServer(() =>
      json(503, { error: { code: 'publish-timeout', message: 'Redis stayed unreachable' } }),
    )
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await expect(pub.subject('u').addChannel('c')).rejects.toMatchObject({
      code: 'publish-timeout',
      status: 503,
    })
  })

  it('keeps the specific code of a 400 body, and calls a bare 400 invalid-request', async () => {
    const answers: Answer[] = [
      json(400, { error: { code: 'invalid-idempotency-key', message: 'bad key' } }),
      { status: 400, body: '<html>Bad Request</html>' },
    ]
    await using srv = await startFakeServer(() => answers.shift() ?? json(500, {}))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({
      code: 'invalid-idempotency-key',
      status: 400,
      message: 'bad key',
    })
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({
      code: 'invalid-request',
      status: 400,
    })
  })

  it('derives a code from the status when the body is not a Redisse error', async () => {
    const answers: Answer[] = [
      { status: 502, body: '<html>Bad Gateway</html>' },
      json(401, { error: { code: 'no-such-code', message: 'x' } }),
      { status: 503, body: '' },
    ]
    await using srv = await startFakeServer(() => answers.shift() ?? json(500, {}))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({
      code: 'publish-failed',
      status: 502,
    })
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({
      code: 'unauthorized',
      status: 401,
    })
    await expect(pub.subject('u').channels()).rejects.toMatchObject({
      code: 'broker-unavailable',
      status: 503,
    })
  })

  it('rejects an answer of the wrong shape', async () => {
    await using srv = await startFakeServer(() => json(200, { ok: true }))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({ code: 'publish-failed' })
    await expect(pub.publish('c', 't', 1)).rejects.toThrow(/expected \{ id: string \}/)
  })

  it('never shows the publish key in an error message', async () => {
    await using srv = await startFakeServer(() =>
      json(400, { error: { code: 'invalid-json', message: `bad key ${KEY}` } }),
    )
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    const err = await rejection(pub.publish('c', 't', 1))
    expect(err.message).toBe('bad key [publish key]')
  })

  it('fails with broker-unavailable, with the cause, when nothing listens at url', async () => {
    const port = await freePort()
    const pub = createHttpTransport({ url: `http://127.0.0.1:${port}`, key: KEY })
    const err = await rejection(pub.publish('c', 't', 1))
    expect(err).toMatchObject({ name: 'RedisseError', code: 'broker-unavailable' })
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.message).not.toContain(KEY)
    expect(err.cause).toBeInstanceOf(Error)
  })

  it('fails with publish-timeout when the server does not answer within timeout', async () => {
    await using srv = await startFakeServer(() => 'hang')
    const pub = createHttpTransport({ url: srv.url, key: KEY, timeout: 200 })
    const started = Date.now()
    const err = await rejection(pub.publish('c', 't', 1))
    expect(err).toMatchObject({ code: 'publish-timeout' })
    expect(err.message).toMatch(/200 ms.*may or may not have been published/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('fails with closed after close()', async () => {
    await using srv = await startFakeServer(() => json(200, { id: 'e-1@c' }))
    const pub = createHttpTransport({ url: srv.url, key: KEY })
    await pub.close()
    await expect(pub.publish('c', 't', 1)).rejects.toMatchObject({ code: 'closed' })
    await expect(pub.subject('u').channels()).rejects.toMatchObject({ code: 'closed' })
    expect(srv.received).toEqual([])
  })

  it('refuses invalid options without sending anything', () => {
    const invalid = [
      { url: 'localhost:4242', key: KEY },
      { url: 'ftp://localhost', key: KEY },
      { url: 'http://localhost:4242', key: '' },
      { url: 'http://localhost:4242', key: KEY, timeout: 0 },
      { url: 'http://localhost:4242', key: KEY, maxPayloadBytes: 1.5 },
    ]
    for (const options of invalid) {
      expect(() => createHttpTransport(options)).toThrow(
        expect.objectContaining({ code: 'invalid-option' }),
      )
    }
  })
})
