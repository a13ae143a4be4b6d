import { describe, expect, it } from 'vitest'
import { BROKERS, call, startServer } from './harness'

describe.each(BROKERS)('access control on the %s broker', (kind) => {
  it('takes channels from an async callback', async () => {
    await using srv = await startServer(kind, {
      channels: async () => {
        await new Promise((r) => setTimeout(r, 5))
        return ['async:1']
      },
    })
    const stream = await srv.open()
    await srv.publish('async:1', 'm', 1)
    expect((await stream.waitForEvents(1))[0]?.data).toBe('1')
  })

  it('refuses with 403 and a JSON body when the callback returns no channel', async () => {
    await using srv = await startServer(kind, { channels: () => [] })
    const res = await call(srv.url, { headers: { accept: 'text/event-stream' } })
    expect(res.status).toBe(403)
    expect(res.body).toEqual({
      error: { code: 'forbidden', message: 'channels(req) returned no channel for this request' },
    })
  })

  it('refuses with 401 when the callback throws an error with status 401, 403 otherwise', async () => {
    await using srv = await startServer(kind, {
      channels: (req) => {
        if (req.url?.includes('anon'))
          throw Object.assign(new Error('log in first'), { status: 401 })
        throw new Error('not yours')
      },
    })
    const anon = await call(`${srv.url}/?anon=1`)
    expect(anon.status).toBe(401)
    expect(anon.body).toMatchObject({ error: { code: 'unauthorized', message: 'log in first' } })
    const other = await call(srv.url)
    expect(other.status).toBe(403)
    expect(other.body).toMatchObject({ error: { code: 'forbidden' } })
  })

  it('refuses ?channel= unless public channels are enabled', async () => {
    await using srv = await startServer(kind, { tokens: true })
    const res = await call(`${srv.url}/?channel=news`)
    expect(res.status).toBe(403)
    expect((res.body as { error: { message: string } }).error.message).toContain('--public')
  })

  it('serves public channels from an allow-list with globs and refuses others', async () => {
    await using srv = await startServer(kind, { public: ['news', 'room:*'] })
    const ok = await srv.open('/?channel=news&channel=room:7')
    expect(ok.status).toBe(200)
    await srv.publish('room:7', 'm', 'r7')
    expect((await ok.waitForEvents(1))[0]?.data).toBe('"r7"')
    const refused = await call(`${srv.url}/?channel=news&channel=secret`)
    expect(refused.status).toBe(403)
    const invalid = await call(`${srv.url}/?channel=${encodeURIComponent('a*b')}`)
    expect(invalid.status).toBe(400)
    expect(invalid.body).toMatchObject({ error: { code: 'invalid-channel' } })
  })

  it('refuses more channels than limits.channelsPerConnection', async () => {
    await using srv = await startServer(kind, {
      public: true,
      limits: { channelsPerConnection: 2 },
    })
    const res = await call(`${srv.url}/?channel=a&channel=b&channel=c`)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ error: { code: 'too-many-channels' } })
  })

  it('answers 500 with the reason when the callback returns an invalid channel name', async () => {
    await using srv = await startServer(kind, { channels: () => ['bad name'] })
    const res = await call(srv.url)
    expect(res.status).toBe(500)
    expect((res.body as { error: { message: string } }).error.message).toContain(
      'invalid channel name',
    )
  })
})
