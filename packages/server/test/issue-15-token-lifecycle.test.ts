import { type PollResponse, WsCloseCodes } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { uniquePrefix, waitFor } from '@redisse/test-utils'
import { describe, expect, inject, it } from 'vitest'
import { type AnyStream, BROKERS, call, MATRIX, type Running, startServer } from './harness'

// Issue 15, item 8: a token's streams end when the token expires or is
// revoked, on every transport and every node; the subject's other tokens
// keep theirs.

const KEY = 'publish-key-for-tests'

/** Resolves once the stream ended, or fails after `ms`. */
async function endsWithin(stream: AnyStream, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stream still open after ${ms} ms`)), ms)
  })
  try {
    await Promise.race([stream.ended, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The WebSocket close of a stream (undefined for SSE). */
async function closeOf(stream: AnyStream) {
  return stream.ws ? await stream.ws.closed : undefined
}

/** Publishes a marker on `channel` and checks `stream` hears it: it is still open and live. */
async function hearsMarker(srv: Running, stream: AnyStream, channel: string): Promise<void> {
  const before = stream.events.length
  await srv.publish(channel, 'marker', 'still here')
  const events = await stream.waitForEvents(before + 1)
  expect(events.at(-1)).toMatchObject({ event: 'marker', data: '"still here"' })
  expect(stream.isEnded).toBe(false)
}

describe.each(MATRIX)('token lifetime on the %s broker over %s', (kind, transport) => {
  it('ends a stream when its 1 s token expires; the reconnect gets 401, a token without ttl keeps its stream', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const issued = Date.now()
    const short = await subjects.generateToken('exp', { ttl: 1000 })
    const lasting = await subjects.generateToken('exp')
    await subjects.addChannel('exp', 'room:exp')
    const expiring = await srv.open(`/?access_token=${short}`)
    const kept = await srv.open(`/?access_token=${lasting}`)
    expect(expiring.status).toBe(200)
    await endsWithin(expiring, 3000)
    expect(Date.now() - issued).toBeGreaterThanOrEqual(950)
    if (transport === 'websocket') {
      expect(await closeOf(expiring)).toEqual({
        code: WsCloseCodes.channelsRevoked,
        reason: 'token expired',
      })
    }
    const again = await srv.attempt(`/?access_token=${short}`)
    expect(again.status).toBe(401)
    await hearsMarker(srv, kept, 'room:exp')
    expect(srv.server.stats().connections).toBe(1)
  })

  it('revokeToken ends exactly the streams of that token; the subject’s other token keeps its stream', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const subjects = srv.server.broker.subjects
    const revoked = await subjects.generateToken('rev', { ttl: 60_000 })
    const kept = await subjects.generateToken('rev')
    await subjects.addChannel('rev', 'room:rev')
    const gone = [
      await srv.open(`/?access_token=${revoked}`),
      await srv.open(`/?access_token=${revoked}`),
    ]
    const stays = await srv.open(`/?access_token=${kept}`)
    expect(await subjects.revokeToken('rev', revoked)).toBe(true)
    for (const stream of gone) {
      await endsWithin(stream, 3000)
      if (transport === 'websocket') {
        expect(await closeOf(stream)).toEqual({
          code: WsCloseCodes.channelsRevoked,
          reason: 'token revoked',
        })
      }
    }
    await hearsMarker(srv, stays, 'room:rev')
    expect((await srv.attempt(`/?access_token=${revoked}`)).status).toBe(401)
    expect(await subjects.revokeToken('rev', revoked)).toBe(false)
    // A token of another subject is not revoked through this one.
    expect(await subjects.revokeToken('someone-else', kept)).toBe(false)
    await hearsMarker(srv, stays, 'room:rev')
  })
})

/** One `GET /poll`, parsed. */
async function poll(url: string) {
  const res = await call(url)
  return { ...res, body: res.body as PollResponse }
}

describe.each(BROKERS)('token lifetime of long polls on the %s broker', (kind) => {
  it('answers a waiting poll when its token expires; the next poll gets 401', async () => {
    await using srv = await startServer(kind, { tokens: true, poll: { wait: 20_000 } })
    const subjects = srv.server.broker.subjects
    const token = await subjects.generateToken('poll-exp', { ttl: 1000 })
    await subjects.addChannel('poll-exp', 'room:p')
    const cursor = await srv.publish('room:p', 'm', 0)
    const before = Date.now()
    const answer = await poll(`${srv.url}/poll?access_token=${token}&lastEventId=${cursor}`)
    expect(answer.status).toBe(200)
    expect(answer.body.events).toEqual([])
    expect(Date.now() - before).toBeLessThan(3000)
    const next = await poll(
      `${srv.url}/poll?access_token=${token}&lastEventId=${answer.body.lastEventId}`,
    )
    expect(next.status).toBe(401)
  })

  it('answers the waiting polls of a revoked token only', async () => {
    await using srv = await startServer(kind, { tokens: true, poll: { wait: 20_000 } })
    const subjects = srv.server.broker.subjects
    const revoked = await subjects.generateToken('poll-rev')
    const kept = await subjects.generateToken('poll-rev')
    await subjects.addChannel('poll-rev', 'room:q')
    const cursor = await srv.publish('room:q', 'm', 0)
    const gone = poll(`${srv.url}/poll?access_token=${revoked}&lastEventId=${cursor}`)
    const stays = poll(`${srv.url}/poll?access_token=${kept}&lastEventId=${cursor}`)
    await waitFor(() => srv.server.stats().transports.poll === 2, { what: 'two polls waiting' })
    await subjects.revokeToken('poll-rev', revoked)
    expect((await gone).body.events).toEqual([])
    expect(srv.server.stats().transports.poll).toBe(1)
    const marker = await srv.publish('room:q', 'marker', 1)
    expect((await stays).body).toMatchObject({ events: [{ id: marker, type: 'marker' }] })
  })
})

describe('revocation across two nodes sharing one Redis', () => {
  it('revokeToken over the Redis publisher ends that token’s streams on both nodes, and no other', async () => {
    const prefix = uniquePrefix('rev-two')
    await using a = await startServer('redis', { tokens: true }, { prefix })
    await using b = await startServer('redis', { tokens: true }, { prefix, transport: 'websocket' })
    const pub = createPublisher({ redis: inject('redisUrl'), prefix })
    try {
      const user = pub.subject('two')
      const revoked = await user.generateToken()
      const kept = await user.generateToken()
      await user.addChannel('room:two')
      const onA = await a.open(`/?access_token=${revoked}`)
      const onB = await b.open(`/?access_token=${revoked}`)
      const keptOnB = await b.open(`/?access_token=${kept}`)
      expect(await user.revokeToken(revoked)).toBe(true)
      await endsWithin(onA, 3000)
      await endsWithin(onB, 3000)
      expect(await closeOf(onB)).toEqual({ code: 4001, reason: 'token revoked' })
      await hearsMarker(b, keptOnB, 'room:two')
      expect((await a.attempt(`/?access_token=${revoked}`)).status).toBe(401)
    } finally {
      await pub.close()
    }
  })

  it('revokeToken over the HTTP publisher (through node a) ends that token’s streams on node b', async () => {
    const prefix = uniquePrefix('rev-http')
    await using a = await startServer('redis', { tokens: true, publishKey: KEY }, { prefix })
    await using b = await startServer('redis', { tokens: true }, { prefix })
    const pub = createPublisher({ url: a.url, key: KEY })
    try {
      const user = pub.subject('http-user')
      const revoked = await user.generateToken()
      const kept = await user.generateToken()
      await user.addChannel('room:http')
      const gone = await b.open(`/?access_token=${revoked}`)
      const stays = await b.open(`/?access_token=${kept}`)
      expect(await user.revokeToken(revoked)).toBe(true)
      await endsWithin(gone, 3000)
      await hearsMarker(b, stays, 'room:http')
      expect(await user.revokeToken(revoked)).toBe(false)
      expect((await b.attempt(`/?access_token=${revoked}`)).status).toBe(401)
    } finally {
      await pub.close()
    }
  })
})

describe.each(BROKERS)('POST /subjects/:subject/tokens/revoke on the %s broker', (kind) => {
  it('answers 400 for a missing, empty, non-string or over-long token, and revokes nothing', async () => {
    await using srv = await startServer(kind, { tokens: true, publishKey: KEY })
    const token = await srv.server.broker.subjects.generateToken('api')
    await srv.server.broker.subjects.addChannel('api', 'c')
    const path = `${srv.url}/subjects/api/tokens/revoke`
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }
    for (const body of [
      '',
      '{}',
      '{"token":""}',
      '{"token":42}',
      `{"token":"${'x'.repeat(513)}"}`,
    ]) {
      const res = await call(path, { method: 'POST', headers, body })
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({ error: { code: 'invalid-token' } })
    }
    expect((await call(path, { method: 'GET', headers })).status).toBe(405)
    expect((await call(path, { method: 'POST', body: JSON.stringify({ token }) })).status).toBe(401)
    expect((await srv.attempt(`/?access_token=${token}`)).status).toBe(200)
    const ok = await call(path, { method: 'POST', headers, body: JSON.stringify({ token }) })
    expect(ok).toMatchObject({ status: 200, body: { revoked: true } })
    expect((await srv.attempt(`/?access_token=${token}`)).status).toBe(401)
  })
})
