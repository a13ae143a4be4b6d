import { describe, expect, it } from 'vitest'
import type { ChannelsCallback, ServerOptions } from '../src/index'
import { MATRIX, startServer } from './harness'

// Refusals are decided before any stream starts, so a WebSocket upgrade gets
// the same HTTP status and JSON body as an SSE request.
describe.each(MATRIX)('access control on the %s broker over %s', (kind, transport) => {
  it('takes channels from an async callback', async () => {
    const channels = async () => {
      await new Promise((r) => setTimeout(r, 5))
      return ['async:1']
    }
    await using srv = await startServer(kind, { channels }, { transport })
    const stream = await srv.open()
    await srv.publish('async:1', 'm', 1)
    expect((await stream.waitForEvents(1))[0]?.data).toBe('1')
  })

  it('refuses with 403 and a JSON body when the callback returns no channel', async () => {
    await using srv = await startServer(kind, { channels: () => [] }, { transport })
    const res = await srv.attempt()
    expect(res.status).toBe(403)
    expect(res.body).toEqual({
      error: { code: 'forbidden', message: 'channels(req) returned no channel for this request' },
    })
  })

  it('refuses with 401 when the callback throws an error with status 401, 403 otherwise', async () => {
    const channels: ChannelsCallback = (req) => {
      if (req.url?.includes('anon')) throw Object.assign(new Error('log in first'), { status: 401 })
      throw new Error('not yours')
    }
    await using srv = await startServer(kind, { channels }, { transport })
    const anon = await srv.attempt('/?anon=1')
    expect(anon.status).toBe(401)
    expect(anon.body).toEqual({
      error: { code: 'unauthorized', message: 'authentication required' },
    })
    const other = await srv.attempt()
    expect(other.status).toBe(403)
    expect(other.body).toMatchObject({ error: { code: 'forbidden' } })
  })

  it('refuses ?channel= unless public channels are enabled', async () => {
    await using srv = await startServer(kind, { tokens: true }, { transport })
    const res = await srv.attempt('/?channel=news')
    expect(res.status).toBe(403)
    expect((res.body as { error: { message: string } }).error.message).toContain('--public')
  })

  it('serves public channels from an allow-list with globs and refuses others', async () => {
    await using srv = await startServer(kind, { public: ['news', 'room:*'] }, { transport })
    const ok = await srv.open('/?channel=news&channel=room:7')
    expect(ok.status).toBe(200)
    await srv.publish('room:7', 'm', 'r7')
    expect((await ok.waitForEvents(1))[0]?.data).toBe('"r7"')
    const refused = await srv.attempt('/?channel=news&channel=secret')
    expect(refused.status).toBe(403)
    const invalid = await srv.attempt(`/?channel=${encodeURIComponent('a*b')}`)
    expect(invalid.status).toBe(400)
    expect(invalid.body).toMatchObject({ error: { code: 'invalid-channel' } })
  })

  it('refuses more channels than limits.channelsPerConnection', async () => {
    const options: ServerOptions = { public: true, limits: { channelsPerConnection: 2 } }
    await using srv = await startServer(kind, options, { transport })
    const res = await srv.attempt('/?channel=a&channel=b&channel=c')
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error: { code: 'too-many-channels' } })
  })

  it('answers 500 when the callback returns an invalid channel name (the reason goes to the log)', async () => {
    await using srv = await startServer(kind, { channels: () => ['bad name'] }, { transport })
    const res = await srv.attempt()
    expect(res.status).toBe(500)
    expect(res.body).toEqual({
      error: { code: 'internal', message: 'internal error: see the server log' },
    })
  })
})
