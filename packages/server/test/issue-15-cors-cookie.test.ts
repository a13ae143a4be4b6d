import { openSse, openWs } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import type { CorsOptions } from '../src/index'
import { call, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const

/** Status of one connect with these headers: 200 (101 for a WebSocket) when accepted. */
async function statusOf(
  url: string,
  transport: (typeof TRANSPORTS)[number],
  headers: Record<string, string>,
): Promise<number> {
  if (transport === 'sse') {
    const stream = await openSse(`${url}/`, { headers })
    stream.close()
    return stream.status
  }
  if (transport === 'websocket') {
    const ws = await openWs(`${url}/`, { headers })
    ws.close()
    return ws.status === 101 ? 200 : ws.status
  }
  return (await call(`${url}/poll`, { headers })).status
}

/**
 * Issue 15, item 7: one rule on every transport for the token cookie. It
 * authenticates a request without Origin, a same-origin one, or one from an
 * origin listed by name with `cors.credentials: true`; never one that only
 * `'*'` lets in (or a listed origin without credentials). A token in the
 * query or `Authorization` header is not affected.
 */
describe.each(TRANSPORTS)('the token cookie over %s', (transport) => {
  const setup = async (cors: CorsOptions) => {
    const srv = await startServer('embedded', { tokens: { cookie: 'rt' }, cors })
    const token = await srv.server.broker.subjects.generateToken('u')
    await srv.server.broker.subjects.addChannel('u', 'user:u')
    // A poll without a cursor answers at once once the log has a head.
    await srv.publish('user:u', 'm', 0)
    return { srv, token }
  }

  it("never authenticates a cross-origin request when cors.origin is '*'", async () => {
    const { srv, token } = await setup({ origin: '*' })
    await using _ = srv
    const cookie = `rt=${token}`
    expect(await statusOf(srv.url, transport, { cookie, origin: 'https://evil.example' })).toBe(401)
    // A cross-origin page can still connect with the token itself.
    expect(
      await statusOf(srv.url, transport, {
        origin: 'https://evil.example',
        authorization: `Bearer ${token}`,
      }),
    ).toBe(200)
    // Same origin, and non-browser clients (no Origin), use the cookie.
    const host = new URL(srv.url).host
    expect(await statusOf(srv.url, transport, { cookie, origin: `http://${host}` })).toBe(200)
    expect(await statusOf(srv.url, transport, { cookie })).toBe(200)
  })

  it('authenticates a listed origin only with cors.credentials', async () => {
    const listed = { cookie: '', origin: 'https://app.example' }
    {
      const { srv, token } = await setup({ origin: ['https://app.example'], credentials: true })
      await using _ = srv
      listed.cookie = `rt=${token}`
      expect(await statusOf(srv.url, transport, listed)).toBe(200)
    }
    {
      const { srv, token } = await setup({ origin: ['https://app.example'] })
      await using _ = srv
      listed.cookie = `rt=${token}`
      expect(await statusOf(srv.url, transport, listed)).toBe(401)
    }
  })
})
