import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { freePort, spawnCliFromSource, waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { createServer, type ServerOptions } from '../src/index'
import { call, startServer } from './harness'

const PATHS = ['/stats', '/metrics'] as const

/**
 * Issue 15, item 11: `/stats` names channels (user ids, private rooms), so
 * by default neither it nor `/metrics` is served: a mounted handler passes
 * them on to the app, a standalone server answers 404. `statsKey` serves
 * them to its bearer, `stats: 'public'` to anyone. `/healthz` stays public.
 */
describe('stats and metrics exposure', () => {
  it('are off by default on a standalone server; /healthz is served', async () => {
    await using srv = await startServer('embedded', { public: true })
    await srv.open('/?channel=user:42')
    for (const path of PATHS) {
      const res = await call(srv.url + path)
      expect(res.status).toBe(404)
      expect(JSON.stringify(res.body)).not.toContain('user:42')
    }
    expect((await call(`${srv.url}/healthz`)).status).toBe(200)
  })

  it('are passed on to the app by a mounted handler by default', async () => {
    const redisse = createServer({ logger: 'silent', public: true })
    const http = createHttpServer((req, res) =>
      redisse.handler(req, res, () => res.writeHead(418).end('app')),
    )
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    try {
      for (const path of PATHS) {
        const res = await call(url + path)
        expect([res.status, res.body]).toEqual([418, 'app'])
      }
      expect((await call(`${url}/healthz`)).status).toBe(200)
    } finally {
      await redisse.close()
      await new Promise((r) => http.close(r))
    }
  })

  it("are served to anyone with stats: 'public', and to the bearer of statsKey", async () => {
    {
      await using srv = await startServer('embedded', { public: true, stats: 'public' })
      for (const path of PATHS) expect((await call(srv.url + path)).status).toBe(200)
    }
    {
      await using srv = await startServer('embedded', { public: true, statsKey: 'stats-key-1' })
      for (const path of PATHS) {
        expect((await call(srv.url + path)).status).toBe(401)
        const ok = await call(srv.url + path, {
          headers: { authorization: 'Bearer stats-key-1' },
        })
        expect(ok.status).toBe(200)
      }
    }
  })

  it('refuses contradictory or weak settings at start-up', () => {
    const bad: ServerOptions[] = [
      { public: true, stats: 'public', statsKey: 'stats-key-1' },
      { public: true, stats: false, statsKey: 'stats-key-1' },
      { public: true, statsKey: 'short' },
      { public: true, stats: 'open' as 'public' },
    ]
    for (const options of bad) {
      expect(() => createServer({ logger: 'silent', ...options })).toThrow(
        expect.objectContaining({ code: 'invalid-option' }),
      )
    }
  })

  it('are off on the CLI unless --stats-key is given', async () => {
    for (const withKey of [false, true]) {
      const port = await freePort()
      const child = spawnCliFromSource(
        ['--public', '--host', '127.0.0.1', ...(withKey ? ['--stats-key', 'cli-stats-key'] : [])],
        { env: { ...process.env, REDIS_URL: '', PORT: String(port) }, stdio: 'ignore' },
      )
      try {
        const url = `http://127.0.0.1:${port}`
        await waitFor(
          async () => (await call(`${url}/healthz`).catch(() => undefined))?.status === 200,
          {
            what: 'CLI up',
            timeout: 15_000,
            interval: 50,
          },
        )
        const open = await call(`${url}/stats`)
        const keyed = await call(`${url}/stats`, {
          headers: { authorization: 'Bearer cli-stats-key' },
        })
        expect([open.status, keyed.status]).toEqual(withKey ? [401, 200] : [404, 404])
      } finally {
        child.kill('SIGKILL')
      }
    }
  }, 40_000)
})
