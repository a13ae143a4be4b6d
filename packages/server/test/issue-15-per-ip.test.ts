import { openSse, openWs, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { createServer, type ServerOptions } from '../src/index'
import { type Running, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
type Transport = (typeof TRANSPORTS)[number]

/** Opens one connection (a poll waits, having a cursor); resolves with its status once answered or open. */
function connect(srv: Running, transport: Transport, cursor: string, xff?: string) {
  const headers: Record<string, string> = xff ? { 'x-forwarded-for': xff } : {}
  if (transport === 'sse') {
    return openSse(`${srv.url}/?channel=c`, { headers }).then((s) => ({
      status: s.status,
      close: () => s.close(),
    }))
  }
  if (transport === 'websocket') {
    return openWs(`${srv.url}/?channel=c`, { headers }).then((s) => ({
      status: s.status === 101 ? 200 : s.status,
      close: () => s.close(),
    }))
  }
  const controller = new AbortController()
  const answer = fetch(`${srv.url}/poll?channel=c&lastEventId=${encodeURIComponent(cursor)}`, {
    headers,
    signal: controller.signal,
  }).then(
    (r) => r.status,
    () => 0,
  )
  // A waiting poll has no status yet: it counts as accepted once the node holds it.
  const before = srv.server.stats().transports.poll
  return Promise.race([
    answer,
    waitFor(() => srv.server.stats().transports.poll > before, {
      what: 'poll waiting',
      timeout: 5000,
    }).then(() => 200),
  ]).then((status) => ({ status, close: () => controller.abort() }))
}

async function serve(options: Partial<ServerOptions>) {
  const srv = await startServer('embedded', { public: true, ...options })
  const cursor = (await srv.publish('start', 'm', 0)).split('@')[0] ?? ''
  return { srv, cursor }
}

/**
 * Issue 15, hardening: `limits.connectionsPerIp` (off by default) counts
 * places by client address, taken at admission like every limit; the
 * address is the socket's peer unless `trustProxy` says the peer is a proxy
 * whose `X-Forwarded-For` may be believed.
 */
describe.each(TRANSPORTS)('limits.connectionsPerIp over %s', (transport) => {
  it('refuses the third stream of one address with 429, even with forged X-Forwarded-For', async () => {
    const { srv, cursor } = await serve({ limits: { connectionsPerIp: 2 } })
    await using _ = srv
    const open = [await connect(srv, transport, cursor), await connect(srv, transport, cursor)]
    expect(open.map((o) => o.status)).toEqual([200, 200])
    const forged = await connect(srv, transport, cursor, '203.0.113.9')
    expect(forged.status).toBe(429)
    expect(srv.server.stats().rejected['ip-limit']).toBe(1)
    open[0]?.close()
    await waitFor(() => srv.server.stats().connections === 1, { what: 'one closed' })
    const again = await connect(srv, transport, cursor)
    expect(again.status).toBe(200)
    for (const o of [...open, again]) o.close()
  })

  it('holds exactly under a burst of 50 connects from one address', async () => {
    const { srv, cursor } = await serve({ limits: { connectionsPerIp: 2 } })
    await using _ = srv
    const closers: Array<() => void> = []
    for (let i = 0; i < 50; i++) {
      if (transport === 'poll') {
        const controller = new AbortController()
        closers.push(() => controller.abort())
        void fetch(`${srv.url}/poll?channel=c&lastEventId=${encodeURIComponent(cursor)}`, {
          signal: controller.signal,
        }).catch(() => {})
      } else {
        const opening =
          transport === 'sse' ? openSse(`${srv.url}/?channel=c`) : openWs(`${srv.url}/?channel=c`)
        closers.push(() => void opening.then((s) => s.close()))
      }
    }
    const stats = () => srv.server.stats()
    await waitFor(
      () => (stats().rejected['ip-limit'] ?? 0) + stats().transports[transport] === 50,
      {
        what: 'every connect answered or open',
      },
    )
    expect(stats().transports[transport]).toBe(2)
    for (const close of closers) close()
  })

  it('counts X-Forwarded-For clients apart behind a trusted proxy', async () => {
    const { srv, cursor } = await serve({
      limits: { connectionsPerIp: 1 },
      trustProxy: ['127.0.0.1'],
    })
    await using _ = srv
    const a = await connect(srv, transport, cursor, '198.51.100.1')
    const b = await connect(srv, transport, cursor, '198.51.100.2')
    expect([a.status, b.status]).toEqual([200, 200])
    // A client prepending an address of its choice is still itself.
    const spoof = await connect(srv, transport, cursor, '198.51.100.7, 198.51.100.1')
    expect(spoof.status).toBe(429)
    for (const o of [a, b]) o.close()
  })

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const { srv, cursor } = await serve({
      limits: { connectionsPerIp: 1 },
      trustProxy: ['10.0.0.1'],
    })
    await using _ = srv
    const a = await connect(srv, transport, cursor, '198.51.100.1')
    const b = await connect(srv, transport, cursor, '198.51.100.2')
    expect([a.status, b.status]).toEqual([200, 429])
    a.close()
  })
})

it('refuses invalid trustProxy, connectionsPerIp and maxMessagesPerSecond at start-up', () => {
  const bad: Array<Partial<ServerOptions>> = [
    { trustProxy: 'yes' as unknown as boolean },
    { trustProxy: [''] },
    { limits: { connectionsPerIp: 0 } },
    { limits: { connectionsPerIp: 1.5 } },
    { websocket: { maxMessagesPerSecond: 0 } },
  ]
  for (const options of bad) {
    expect(() => createServer({ logger: 'silent', public: true, ...options })).toThrow(
      expect.objectContaining({ code: 'invalid-option' }),
    )
  }
})
