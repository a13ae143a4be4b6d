import { openSse, openWs, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { BROKERS, type Running, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
type Transport = (typeof TRANSPORTS)[number]
const BURST = 200

/** One connect attempt that stays open when accepted; `status` is 200 (or 101) when accepted. */
interface Held {
  status: Promise<number>
  close(): void
}

function connect(srv: Running, transport: Transport, query: string, cursor: string): Held {
  if (transport === 'sse') {
    const stream = openSse(`${srv.url}/?${query}`, { timeout: 20_000 })
    return {
      status: stream.then((s) => s.status),
      close: () => void stream.then((s) => s.close()),
    }
  }
  if (transport === 'websocket') {
    const ws = openWs(`${srv.url}/?${query}`, { timeout: 20_000 })
    return { status: ws.then((s) => s.status), close: () => void ws.then((s) => s.close()) }
  }
  const controller = new AbortController()
  const res = fetch(`${srv.url}/poll?${query}&lastEventId=${encodeURIComponent(cursor)}`, {
    signal: controller.signal,
  })
  return {
    status: res.then(
      (r) => r.status,
      () => 0,
    ),
    close: () => controller.abort(),
  }
}

/** Waits until every attempt was either refused or holds a place, and returns the places held. */
async function settle(srv: Running, transport: Transport, attempts: Held[]): Promise<number> {
  let refused = 0
  for (const attempt of attempts) {
    void attempt.status.then((status) => {
      if (status !== 200 && status !== 101) refused += 1
    })
  }
  await waitFor(() => refused + srv.server.stats().transports[transport] === BURST, {
    what: 'every attempt answered or open',
    timeout: 20_000,
  })
  return srv.server.stats().transports[transport]
}

/**
 * Issue 15, item 6: limits are counted by reservations taken at admission,
 * synchronously with the check, so a burst of concurrent connects (whose
 * token lookups are all in flight at once) cannot pass them; places are
 * given back when a connection closes or its admission fails.
 */
describe.each(BROKERS)(
  'connection limits under a burst of 200 connects, on the %s broker',
  (kind) => {
    it.each(TRANSPORTS)('hold exactly over %s: 3 per subject', async (transport) => {
      await using srv = await startServer(kind, {
        tokens: true,
        limits: { connectionsPerSubject: 3 },
      })
      const subjects = srv.server.broker.subjects
      const cursor = (await srv.publish('start', 'm', 0)).split('@')[0] ?? ''
      const solo = await subjects.generateToken('solo')
      await subjects.addChannel('solo', 'c:solo')
      const burst = Array.from({ length: BURST }, () =>
        connect(srv, transport, `access_token=${solo}`, cursor),
      )
      expect(await settle(srv, transport, burst)).toBe(3)
      expect(srv.server.stats().rejected['subject-limit']).toBe(BURST - 3)
      for (const attempt of burst) attempt.close()
      await waitFor(() => srv.server.stats().connections === 0, { what: 'all closed' })

      // Refused and closed attempts gave their places back.
      const again = Array.from({ length: 3 }, () =>
        connect(srv, transport, `access_token=${solo}`, cursor),
      )
      if (transport === 'poll') {
        await waitFor(() => srv.server.stats().transports.poll === 3, { what: 'three polls wait' })
        await srv.publish('c:solo', 'm', 1)
      }
      expect(await Promise.all(again.map((a) => a.status))).toEqual(
        transport === 'websocket' ? [101, 101, 101] : [200, 200, 200],
      )
      for (const attempt of again) attempt.close()
    })

    it.each(TRANSPORTS)('hold exactly over %s: 30 per node', async (transport) => {
      await using srv = await startServer(kind, { tokens: true, limits: { connections: 30 } })
      const subjects = srv.server.broker.subjects
      const cursor = (await srv.publish('start', 'm', 0)).split('@')[0] ?? ''
      const tokens: string[] = []
      for (let s = 0; s < 20; s++) {
        tokens.push(await subjects.generateToken(`s${s}`))
        await subjects.addChannel(`s${s}`, `c:s${s}`)
      }
      const burst = Array.from({ length: BURST }, (_, i) =>
        connect(srv, transport, `access_token=${tokens[i % 20]}`, cursor),
      )
      expect(await settle(srv, transport, burst)).toBe(30)
      expect(srv.server.stats().rejected.limit).toBe(BURST - 30)
      for (const attempt of burst) attempt.close()
      await waitFor(() => srv.server.stats().connections === 0, { what: 'all closed' })
      // Refused and closed attempts gave their places back.
      const again = Array.from({ length: 30 }, (_, i) =>
        connect(srv, transport, `access_token=${tokens[i % 20]}`, cursor),
      )
      await waitFor(() => srv.server.stats().transports[transport] === 30, {
        what: '30 open again',
      })
      expect(srv.server.stats().rejected.limit).toBe(BURST - 30)
      for (const attempt of again) attempt.close()
    })
  },
)
