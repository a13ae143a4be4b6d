import { waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { MATRIX, startServer } from './harness'

describe.each(MATRIX)('token mode on the %s broker over %s', (kind, transport) => {
  it('answers 401 for a missing or unknown token, and for a token without channels', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    expect((await srv.attempt()).status).toBe(401)
    expect((await srv.attempt(`/?access_token=nope`)).status).toBe(401)
    const token = await srv.server.broker.subjects.generateToken('u1')
    const empty = await srv.attempt(`/?access_token=${token}`)
    expect(empty.status).toBe(401)
    expect(empty.body).toMatchObject({
      error: { code: 'unauthorized', message: 'this token grants no channel yet' },
    })
  })

  it('accepts the token from the query, a Bearer header or the cookie', async () => {
    await using srv = await startServer(kind, { tokens: { cookie: 'rt' } }, { transport })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u2')
    await subjects.addChannel('u2', 'user:u2')
    const byQuery = await srv.open(`/?access_token=${token}`)
    const byHeader = await srv.open('/', { authorization: `Bearer ${token}` })
    const byCookie = await srv.open('/', { cookie: `other=1; rt=${token}` })
    await srv.publish('user:u2', 'note', 'hi')
    for (const s of [byQuery, byHeader, byCookie])
      expect((await s.waitForEvents(1))[0]?.data).toBe('"hi"')
  })

  it('applies channel-list edits live: add, remove, then the stream ends when the list is empty', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u3')
    await subjects.addChannel('u3', 'room:a')
    const stream = await srv.open(`/?access_token=${token}`)
    await subjects.addChannel('u3', 'room:b')
    await waitFor(() => srv.server.stats().channels['room:b'] === 1, { what: 'room:b added live' })
    await srv.publish('room:b', 'm', 'b1')
    await stream.waitForEvents(1)
    await subjects.removeChannel('u3', 'room:a')
    await waitFor(() => srv.server.stats().channels['room:a'] === undefined, {
      what: 'room:a removed',
    })
    await srv.publish('room:a', 'm', 'a-after-removal')
    await srv.publish('room:b', 'm', 'b2')
    await stream.waitForEvents(2)
    expect(stream.events.map((e) => e.data)).toEqual(['"b1"', '"b2"'])
    await subjects.removeChannel('u3', 'room:b')
    await stream.ended
    expect(srv.server.stats().connections).toBe(0)
  })

  it('ends the streams of a cleared subject and refuses its old token', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u4')
    await subjects.addChannel('u4', 'c')
    const stream = await srv.open(`/?access_token=${token}`)
    await subjects.clear('u4')
    await stream.ended
    expect((await srv.attempt(`/?access_token=${token}`)).status).toBe(401)
  })

  it('refuses an expired token', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u5', { ttl: 100 })
    await subjects.addChannel('u5', 'c')
    expect((await srv.open(`/?access_token=${token}`)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 150))
    expect((await srv.attempt(`/?access_token=${token}`)).status).toBe(401)
  })

  it('answers 429 with Retry-After beyond limits.connectionsPerSubject', async () => {
    await using srv = await startServer(
      kind,
      {
        tokens: true,
        limits: { connectionsPerSubject: 2 },
      },
      { transport },
    )
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('u6')
    await subjects.addChannel('u6', 'c')
    await srv.open(`/?access_token=${token}`)
    await srv.open(`/?access_token=${token}`)
    const third = await srv.attempt(`/?access_token=${token}`)
    expect(third.status).toBe(429)
    expect(third.headers['retry-after']).toBe('5')
    expect(third.body).toMatchObject({ error: { code: 'too-many-connections' } })
  })
})

it('logs one line per stream open and close, with duration and reason, and never the token', async () => {
  const lines: string[] = []
  const { createLogger } = await import('../src/index')
  await using srv = await startServer('embedded', {
    tokens: true,
    logger: createLogger({ level: 'info', write: (l) => lines.push(l) }),
  })
  const subjects = srv.server.broker.subjects
  const token = await subjects.generateToken('logged')
  await subjects.addChannel('logged', 'c')
  const stream = await srv.open(`/?access_token=${token}`)
  stream.close()
  await waitFor(() => lines.some((l) => l.includes('stream closed')), { what: 'close line' })
  const closed = JSON.parse(lines.find((l) => l.includes('stream closed')) ?? '{}')
  expect(closed).toMatchObject({ reason: 'client-closed', conn: expect.any(Number) })
  expect(closed.durationMs).toBeGreaterThanOrEqual(0)
  expect(
    lines.some((l) => l.includes('"msg":"stream opened"') && l.includes('"subject":"logged"')),
  ).toBe(true)
  expect(lines.join('\n')).not.toContain(token)
})
