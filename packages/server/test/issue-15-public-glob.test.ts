import { globToRegExp, historyResolver } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { call, startServer } from './harness'

/**
 * Issue 15, hardening: in the public allow-list `*` stays within one
 * `:`-separated segment and `**` crosses segments, so `--public 'room:*'`
 * does not open `room:42:private`. History overrides keep their glob (`*`
 * matches anything), unchanged in the protocol package and the Lua script.
 */
describe('the public allow-list glob', () => {
  it('matches * within one segment and ** across segments', () => {
    const cases: Array<[string, string, boolean]> = [
      ['room:*', 'room:42', true],
      ['room:*', 'room:', true],
      ['room:*', 'room:42:private', false],
      ['room:*', 'lobby', false],
      ['room:**', 'room:42:private', true],
      ['*:public', 'room:public', true],
      ['*:public', 'a:b:public', false],
      ['**:public', 'a:b:public', true],
      ['user.*', 'user.x', true],
      ['user.*', 'userAx', false],
      ['a*b', 'a:b', false],
    ]
    for (const [glob, channel, expected] of cases) {
      expect([glob, channel, globToRegExp(glob, { star: 'segment' }).test(channel)]).toEqual([
        glob,
        channel,
        expected,
      ])
    }
  })

  it('refuses a nested channel a one-segment pattern does not cover, on a running server', async () => {
    await using srv = await startServer('embedded', { public: ['room:*', 'feed:**'] })
    await srv.publish('room:42', 'm', 0)
    expect((await call(`${srv.url}/poll?channel=room:42`)).status).toBe(200)
    expect((await call(`${srv.url}/poll?channel=feed:a:b`)).status).toBe(200)
    const nested = await call(`${srv.url}/poll?channel=room:42:private`)
    expect(nested.status).toBe(403)
    expect(nested.body).toMatchObject({ error: { code: 'forbidden' } })
  })

  it('leaves history overrides as they were: * matches across segments there', () => {
    const historyOf = historyResolver({ size: 10, ttl: 0 }, [
      { pattern: 'typing:*', size: 0, ttl: 0 },
    ])
    expect(historyOf('typing:42:x')).toEqual({ size: 0, ttl: 0 })
  })
})
