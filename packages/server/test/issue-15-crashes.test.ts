import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { connect as connectHttp2, createSecureServer } from 'node:http2'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeTlsCertificate, waitFor } from '@redisse/test-utils'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type RedisseServer } from '../src/index'
import {
  type LiveCli,
  openSocket,
  PUBLISH_KEY,
  publisherApi,
  rawExchange,
  rawGet,
  startCli,
  UPGRADE_HEADERS,
} from './liveCli'

/** Request targets that once threw out of node:http's request callback and ended the process. */
const BAD_TARGETS = ['//a:99999/', 'http://[', '//[', '/\\a:99999/', 'http://a:99999/']

const STREAM = { Accept: 'text/event-stream' }

/** One place under test: the CLI process, or a handler mounted in the test process. */
interface Target {
  port: number
  /** Statuses a malformed target may get: Express answers 404 itself to a target that is not a path. */
  badTarget: number[]
  publish(channel: string): Promise<void>
  /** Open connections as the server counts them. */
  connections(): Promise<number>
  healthz(): Promise<number>
  close(): Promise<void>
}

async function listen(http: Server): Promise<number> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  return (http.address() as AddressInfo).port
}

function mountedTarget(
  redisse: RedisseServer,
  http: Server,
  port: number,
  badTarget = [400],
): Target {
  return {
    port,
    badTarget,
    publish: async (channel) => {
      await redisse.broker.publish({ channel, type: 'tick', data: null })
    },
    connections: async () => redisse.stats().connections,
    healthz: async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status,
    async close() {
      await redisse.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    },
  }
}

/** Redisse mounted on a plain node:http server, upgrades handed to `upgrade`. */
async function startNodeHttp(): Promise<Target> {
  const redisse = createServer({ logger: 'silent', public: true, tokens: true })
  const http = createHttpServer(redisse.handler)
  http.on('upgrade', (req, socket, head) => redisse.upgrade(req, socket, head))
  return mountedTarget(redisse, http, await listen(http))
}

/** Redisse mounted in Express, upgrades routed by the app. */
async function startExpress(): Promise<Target> {
  const redisse = createServer({ logger: 'silent', public: true, tokens: true })
  const app = express()
  app.use(redisse.handler)
  const http = createHttpServer(app)
  http.on('upgrade', (req, socket, head) => redisse.upgrade(req, socket, head))
  return mountedTarget(redisse, http, await listen(http), [400, 404])
}

function cliTarget(cli: LiveCli): Target {
  return {
    port: cli.port,
    badTarget: [400],
    publish: async (channel) => {
      await cli.api('POST', '/publish', { channel, type: 'tick', data: null })
    },
    connections: () => cli.connections(),
    healthz: () => cli.healthz(),
    close: () => cli.stop(),
  }
}

const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))

describe.each([
  ['the CLI', async () => cliTarget(await startCli())],
  ['a node:http mount', startNodeHttp],
  ['an Express mount', startExpress],
] as const)('hostile requests against %s', (_, start) => {
  let target: Target
  beforeAll(async () => {
    target = await start()
  }, 20_000)
  afterAll(() => target.close())

  it.each(BAD_TARGETS)(
    'answers 400 malformed-target to the stream target %s and lives',
    async (bad) => {
      const reply = await rawExchange(target.port, rawGet(bad, STREAM), {
        until: (t) => /\r\n\r\n[\s\S]*[}>]/.test(t),
      })
      expect(target.badTarget).toContain(reply.status)
      if (reply.status === 400) {
        expect(bodyOf(reply.text)).toMatchObject({ error: { code: 'malformed-target' } })
      }
      expect(await target.healthz()).toBe(200)
    },
  )

  it.each(BAD_TARGETS)('refuses a WebSocket upgrade to %s with 400 and lives', async (bad) => {
    const reply = await rawExchange(target.port, rawGet(bad, UPGRADE_HEADERS), {
      until: (t) => t.includes('}'),
    })
    expect(reply.status).toBe(400)
    expect(bodyOf(reply.text)).toMatchObject({ error: { code: 'malformed-target' } })
    expect(await target.healthz()).toBe(200)
  })

  it('closes the socket of a refused upgrade even when the client keeps its side open', async () => {
    const socket = connect({ port: target.port, host: '127.0.0.1', allowHalfOpen: true })
    socket.on('error', () => {})
    let text = ''
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    const ended = new Promise((resolve) => socket.once('end', resolve))
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(rawGet('//[', UPGRADE_HEADERS))
    await ended
    expect(text).toMatch(/^HTTP\/1\.1 400 /)
    // Bytes sent after the server's grace get a reset only if it let go of the socket.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    socket.write('ping')
    // The first write draws the reset, the next one fails on it.
    await new Promise((resolve) => setTimeout(resolve, 200))
    if (!socket.destroyed) socket.write('ping')
    const outcome = await Promise.race([
      closed.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 2000)),
    ])
    socket.destroy()
    expect(outcome).toBe('closed')
  }, 10_000)

  it('answers 400 to a poll with a bad target and lives', async () => {
    const reply = await rawExchange(target.port, rawGet('//[/poll?channel=news'), {
      until: (t) => t.includes('}'),
    })
    expect(reply.status).toBe(400)
    expect(await target.healthz()).toBe(200)
  })

  it('frees every pipelined stream request once the socket closes, and keeps serving new clients', async () => {
    for (let round = 0; round < 2; round++) {
      const pipelined = rawGet('/?channel=news', STREAM).repeat(14)
      const reply = await rawExchange(target.port, pipelined, {
        until: (t) => t.includes(':ok'),
        reset: round === 1,
      })
      expect(reply.status).toBe(200)
      await waitFor(async () => (await target.connections()) === 0, {
        what: 'no connection left after the pipelining client left',
        timeout: 3000,
      })
    }
    const fresh = await rawExchange(target.port, rawGet('/?channel=news', STREAM), {
      until: (t) => t.includes(':ok'),
    })
    expect(fresh.status).toBe(200)
  })

  it('serves only the first of pipelined stream requests while the connection is open', async () => {
    const socket = await openSocket(target.port)
    let text = ''
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    socket.write(rawGet('/?channel=news', STREAM).repeat(5))
    await waitFor(() => text.includes(':ok'), { what: 'the first stream' })
    // The requests after the first were parsed in the same read as it, so
    // they are already answered (refused) or counted by now.
    expect(await target.connections()).toBe(1)
    socket.destroy()
    await waitFor(async () => (await target.connections()) === 0, { what: 'the stream freed' })
  })

  it('frees pipelined long polls when the socket closes, before their wait ends', async () => {
    await target.publish('elsewhere')
    const first = await rawExchange(target.port, rawGet('/poll?channel=quiet'), {
      until: (t) => t.includes('}'),
    })
    const { lastEventId } = bodyOf(first.text) as { lastEventId: string }
    const pipelined = rawGet(`/poll?channel=quiet&lastEventId=${lastEventId}`).repeat(6)
    const socket = await openSocket(target.port)
    socket.write(pipelined)
    await waitFor(async () => (await target.connections()) >= 1, { what: 'a waiting poll' })
    socket.resetAndDestroy()
    await waitFor(async () => (await target.connections()) === 0, {
      what: 'every poll freed',
      timeout: 3000,
    })
  })

  it('answers HEAD on the stream path with 405 and a status line, counting nothing', async () => {
    const reply = await rawExchange(
      target.port,
      'HEAD /?channel=news HTTP/1.1\r\nHost: x\r\n\r\n',
      {
        until: (t) => t.includes('\r\n\r\n'),
      },
    )
    expect(reply.text).toMatch(/^HTTP\/1\.1 405 /)
    expect(reply.text).toMatch(/\r\nallow: GET\r\n/i)
    expect(reply.text).not.toContain(':ok')
    expect(await target.connections()).toBe(0)
  })

  it('answers 401 with a typed error to a token cookie with a bad %-encoding', async () => {
    for (const cookie of ['redisse_token=%E0%A4%A', 'redisse_token=%', 'redisse_token="%zz']) {
      const reply = await rawExchange(target.port, rawGet('/', { ...STREAM, Cookie: cookie }), {
        until: (t) => t.includes('}'),
      })
      expect(reply.status).toBe(401)
      expect(bodyOf(reply.text)).toMatchObject({ error: { code: 'unauthorized' } })
    }
  })

  it('answers 400 or 401, never 500, to %-junk in the query, the cookie header and API paths', async () => {
    const cases = [
      rawGet('/?access_token=%E0%A4%A', STREAM),
      rawGet('/?channel=%ZZ', STREAM),
      rawGet('/?channel=%E0%A4%A', STREAM),
      rawGet('/', { ...STREAM, Cookie: ';;=;%;a=%ZZ;redisse_token' }),
      rawGet('/poll', { Cookie: 'redisse_token=%FF%FE' }),
      rawGet('/subjects/%E0%A4%A/channels', { Authorization: 'Bearer wrong-key-wrong' }),
    ]
    for (const request of cases) {
      const reply = await rawExchange(target.port, request, { until: (t) => t.includes('}') })
      expect([400, 401, 403, 404]).toContain(reply.status)
    }
    expect(await target.healthz()).toBe(200)
  })
})

describe('hostile requests against the CLI with the publisher API', () => {
  let cli: LiveCli
  beforeAll(async () => {
    cli = await startCli()
  }, 20_000)
  afterAll(() => cli.stop())

  it('answers 400 to an API path with a bad %-encoding', async () => {
    expect((await cli.api('GET', '/subjects/%E0%A4%A/channels')).status).toBe(400)
    expect((await cli.api('PUT', '/subjects/u/channels/%E0%A4%A')).status).toBe(400)
    expect(await cli.healthz()).toBe(200)
  })
})

/**
 * Opens an HTTP/1.0 token stream that then reads nothing, and publishes
 * more than the kernel's buffers on both sides hold: the server's bytes
 * for it queue up.
 */
async function stalledHttp10Stream(cli: Pick<LiveCli, 'api' | 'port'>): Promise<Socket> {
  expect((await cli.api('PUT', '/subjects/reader/channels/feed')).status).toBe(200)
  const { token } = (await cli.api('POST', '/subjects/reader/tokens', {})).body as {
    token: string
  }
  const socket = await openSocket(cli.port)
  let head = ''
  const onData = (d: Buffer) => {
    head += d.toString('latin1')
    if (head.includes(':ok')) {
      socket.off('data', onData)
      socket.pause()
    }
  }
  socket.on('data', onData)
  socket.write(rawGet(`/?access_token=${token}`, STREAM, '1.0'))
  await waitFor(() => head.includes(':ok'), { what: 'the HTTP/1.0 stream' })
  // node:http answers HTTP/1.0 with an HTTP/1.1 status line, and no chunks.
  expect(head).toMatch(/^HTTP\/1\.1 200 /)
  expect(head).not.toMatch(/transfer-encoding/i)
  const data = 'x'.repeat(60_000)
  for (let i = 0; i < 400; i++) {
    const res = await cli.api('POST', '/publish', { channel: 'feed', type: 'bulk', data })
    expect(res.status).toBe(200)
  }
  return socket
}

describe('HTTP/1.0 streams ended by the server', () => {
  it('survives a client reset after the server ends an HTTP/1.0 stream with bytes still queued', async () => {
    const cli = await startCli(['--config', bigBufferConfig()])
    try {
      const socket = await stalledHttp10Stream(cli)
      // The server ends the stream (the subject lost every channel) with bytes queued…
      expect((await cli.api('DELETE', '/subjects/reader')).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 100))
      // …and the client resets.
      socket.resetAndDestroy()
      await waitFor(async () => (await cli.connections()) === 0, { what: 'the stream freed' })
      expect(cli.alive).toBe(true)
      expect(await cli.healthz()).toBe(200)
    } finally {
      const output = cli.output()
      await cli.stop()
      expect(output).not.toMatch(/ECONNRESET|Uncaught|Error: /)
    }
  }, 30_000)

  it('survives a client reset after the server ends an HTTP/1.0 stream with bytes still queued, on a node:http mount', async () => {
    const redisse = createServer({
      logger: 'silent',
      tokens: true,
      publishKey: PUBLISH_KEY,
      limits: { bufferBytes: 256 * 1024 * 1024 },
    })
    const http = createHttpServer(redisse.handler)
    const port = await listen(http)
    const target = mountedTarget(redisse, http, port)
    try {
      const api = publisherApi(`http://127.0.0.1:${port}`)
      const socket = await stalledHttp10Stream({ port, api })
      expect((await api('DELETE', '/subjects/reader')).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 100))
      socket.resetAndDestroy()
      // An uncaught ECONNRESET in this process fails the run as an unhandled error.
      await waitFor(async () => (await target.connections()) === 0, { what: 'the stream freed' })
      expect(await target.healthz()).toBe(200)
    } finally {
      await target.close()
    }
  }, 30_000)

  it('exits 0 on SIGTERM when a client resets an HTTP/1.0 stream the shutdown is ending', async () => {
    const cli = await startCli(['--config', bigBufferConfig()])
    try {
      const socket = await stalledHttp10Stream(cli)
      cli.child.kill('SIGTERM')
      await new Promise((resolve) => setTimeout(resolve, 100))
      socket.resetAndDestroy()
      expect(await cli.exited).toBe(0)
    } finally {
      const output = cli.output()
      await cli.stop()
      expect(output).not.toMatch(/ECONNRESET|Uncaught/)
    }
  }, 30_000)
})

describe('HEAD over HTTP/2', () => {
  it('answers HEAD on the stream path with 405 over node:http2 (allowHTTP1) and counts nothing', async () => {
    const tls = makeTlsCertificate()
    const redisse = createServer({ logger: 'silent', public: true })
    const h2 = createSecureServer(
      {
        allowHTTP1: true,
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
      },
      redisse.handler as never,
    )
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', () => resolve()))
    const port = (h2.address() as AddressInfo).port
    const session = connectHttp2(`https://127.0.0.1:${port}`, { ca: tls.cert })
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'HEAD', ':path': '/?channel=news' })
        let got = 0
        req.on('response', (headers) => {
          got = Number(headers[':status'])
        })
        req.on('end', () => resolve(got))
        req.on('error', reject)
        req.resume()
        req.end()
      })
      expect(status).toBe(405)
      // A marker: a GET opened after the HEAD is the only connection counted.
      const get = session.request({ ':path': '/?channel=news', accept: 'text/event-stream' })
      let text = ''
      get.setEncoding('utf8')
      get.on('data', (d: string) => (text += d))
      await waitFor(() => text.includes(':ok'), { what: 'the GET stream over HTTP/2' })
      expect(redisse.stats().connections).toBe(1)
      get.close()
      await waitFor(() => redisse.stats().connections === 0, { what: 'the GET stream freed' })
    } finally {
      session.destroy()
      await redisse.close()
      await new Promise((resolve) => h2.close(resolve))
    }
  })
})

/** A config file that lets a stream queue many MB before it counts as slow. */
function bigBufferConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'redisse-hostile-'))
  const file = join(dir, 'config.mjs')
  writeFileSync(file, 'export default { limits: { bufferBytes: 256 * 1024 * 1024 } }\n')
  return file
}
