import { openSse, openWs } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { call, startServer } from './harness'

// Issue 15, hardening: malformed cookies and bad %-encodings answer 400 or
// 401, never 500 (a 500 says the server broke, and is logged as an error).

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
const KEY = 'publish-key-of-the-test'

/** Status and body of one connect with these headers: 200 (101 for a WebSocket) when accepted. */
async function attempt(
  url: string,
  transport: (typeof TRANSPORTS)[number],
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  if (transport === 'sse') {
    const stream = await openSse(url + path, { headers })
    if (stream.status !== 200) await stream.ended
    stream.close()
    return { status: stream.status, body: stream.status === 200 ? '' : JSON.parse(stream.raw) }
  }
  if (transport === 'websocket') {
    const ws = await openWs(url + path, { headers })
    ws.close()
    return { status: ws.status === 101 ? 200 : ws.status, body: ws.body && JSON.parse(ws.body) }
  }
  const res = await call(url + (path === '/' ? '/poll' : `/poll${path.slice(1)}`), { headers })
  return { status: res.status, body: res.body }
}

describe.each(TRANSPORTS)('malformed input over %s', (transport) => {
  it.each([
    ['a token cookie with a bad %-encoding', { cookie: 'rt=%E0%A4%A' }],
    ['a token cookie that is only %', { cookie: 'other=1; rt=%' }],
    ['a cookie header with no name and no value', { cookie: ';;=;rt' }],
  ])('answers 401 for %s', async (_what, headers) => {
    await using srv = await startServer('embedded', { tokens: { cookie: 'rt' } })
    const got = await attempt(srv.url, transport, '/', headers)
    expect(got.status).toBe(401)
    expect(got.body).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('never answers 500 for a bad %-encoding in the channel or cursor of the query', async () => {
    await using srv = await startServer('embedded', { public: true })
    for (const query of ['/?channel=%E0%A4%A', '/?channel=a&lastEventId=%E0%A4%A']) {
      const got = await attempt(srv.url, transport, query, {})
      // The query decodes %-errors as U+FFFD: an invalid channel (400) or
      // an invalid cursor (a stream that starts with a reset).
      expect([400, 200]).toContain(got.status)
      expect(got.status).not.toBe(500)
    }
  })
})

describe('malformed subjects on the HTTP API', () => {
  it.each([
    ['POST', '/subjects/%E0%A4%A/tokens'],
    ['GET', '/subjects/%/channels'],
    ['PUT', '/subjects/u%ZZ/channels/room'],
    ['DELETE', '/subjects/u/channels/%E0%A4%A'],
  ])('%s %s answers 400', async (method, path) => {
    await using srv = await startServer('embedded', { tokens: true, publishKey: KEY })
    const res = await call(srv.url + path, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: '{}' } : {}),
    })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error: { code: 'malformed-target' } })
  })
})
