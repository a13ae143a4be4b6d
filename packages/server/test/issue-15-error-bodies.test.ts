import { openSse, openWs } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import type { Logger } from '../src/index'
import { call, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const

/** A logger keeping every call, fields as passed (no redaction on the way). */
function capture(): { logger: Logger; text(): string } {
  const lines: unknown[] = []
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push({ level, msg, ...fields })
  return {
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    text: () => JSON.stringify(lines),
  }
}

/** Status and body text of one connect attempt. */
async function attempt(
  url: string,
  transport: (typeof TRANSPORTS)[number],
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  if (transport === 'sse') {
    const stream = await openSse(url + path, { headers })
    if (stream.status !== 200) await stream.ended
    stream.close()
    return { status: stream.status, body: stream.raw }
  }
  if (transport === 'websocket') {
    const ws = await openWs(url + path, { headers })
    ws.close()
    return { status: ws.status === 101 ? 200 : ws.status, body: ws.body }
  }
  const res = await call(url + path.replace(/^\//, '/poll'), { headers })
  return { status: res.status, body: JSON.stringify(res.body) }
}

/**
 * Issue 15, item 10: what a `channels(req)` callback throws never reaches
 * the client (a generic body), only the log; and tokens never appear in a
 * body or a log line.
 */
describe.each(TRANSPORTS)('errors over %s', (transport) => {
  it('answer a generic 403 or 401 when channels(req) throws, and log the message', async () => {
    const log = capture()
    await using srv = await startServer('embedded', {
      logger: log.logger,
      channels: (req) => {
        if (req.url?.includes('anon')) {
          throw Object.assign(new Error('session store at redis://:s3cret@cache down'), {
            status: 401,
          })
        }
        throw new Error('cannot reach postgres://app:hunter2@db:5432/app')
      },
    })
    const forbidden = await attempt(srv.url, transport, '/')
    expect(forbidden.status).toBe(403)
    expect(JSON.parse(forbidden.body)).toEqual({
      error: { code: 'forbidden', message: 'access denied' },
    })
    const anon = await attempt(srv.url, transport, '/?anon=1')
    expect(anon.status).toBe(401)
    expect(JSON.parse(anon.body)).toEqual({
      error: { code: 'unauthorized', message: 'authentication required' },
    })
    expect(log.text()).toContain('postgres://app:hunter2@db:5432/app')
    expect(log.text()).toContain('s3cret')
  })

  it('answer a generic 500 when channels(req) returns an invalid channel name', async () => {
    const log = capture()
    await using srv = await startServer('embedded', {
      logger: log.logger,
      channels: () => ['user:42\nsecret-internal-name'],
    })
    const res = await attempt(srv.url, transport, '/')
    expect(res.status).toBe(500)
    expect(res.body).not.toContain('secret-internal-name')
    expect(log.text()).toContain('secret-internal-name')
  })

  it('never put a token in a body or a log line', async () => {
    const log = capture()
    await using srv = await startServer('embedded', {
      logger: log.logger,
      tokens: { cookie: 'rt' },
      limits: { connectionsPerSubject: 1 },
    })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u')
    await subjects.addChannel('u', 'user:u')
    const id = await srv.publish('user:u', 'm', 1)
    const unknown = 'tok-unknown-0123456789abcdef'
    const bodies: string[] = []
    // Refused: unknown tokens by query, header and cookie.
    for (const [path, headers] of [
      [`/?access_token=${unknown}`, {}],
      ['/', { authorization: `Bearer ${unknown}` }],
      ['/', { cookie: `rt=${unknown}` }],
    ] as const) {
      const res = await attempt(srv.url, transport, path, headers)
      expect(res.status).toBe(401)
      bodies.push(res.body)
    }
    // Accepted, resumed, then refused at the subject limit while the first is open.
    const path = `/?access_token=${token}&lastEventId=${encodeURIComponent(id)}`
    if (transport === 'poll') {
      bodies.push((await attempt(srv.url, transport, `/?access_token=${token}`)).body)
    } else {
      const open =
        transport === 'sse' ? await openSse(srv.url + path) : await openWs(srv.url + path)
      const second = await attempt(srv.url, transport, path)
      expect(second.status).toBe(429)
      bodies.push(second.body)
      open.close()
    }
    expect(bodies.join('\n')).not.toContain(unknown)
    expect(bodies.join('\n')).not.toContain(token)
    expect(log.text()).not.toContain(unknown)
    expect(log.text()).not.toContain(token)
  })
})
