import { inspect } from 'node:util'
import { startRedis, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createLogger, createServer } from '../src/index'

// Issue 15, item 10 and the logging part of docs/security.md: a Redis
// password in the server's URL reaches no log line (the broker's errors
// included, while Redis refuses or drops it), no /stats and no /metrics.

describe('issue 15: the Redis password of the server URL', () => {
  it('appears in no log line, /stats or /metrics, while Redis refuses, drops and accepts it', async () => {
    const redis = await startRedis()
    const admin = new Redis(redis.url)
    const lines: string[] = []
    const write = (line: string) => lines.push(line)
    const secret = 'hunter2-redis-pass'
    const wrong = 'wr0ng-redis-pass'
    try {
      await admin.call('ACL', 'SETUSER', 'app', 'on', `>${secret}`, '~*', '&*', '+@all')
      const base = `127.0.0.1:${redis.port}`

      // A wrong password: ioredis errors and retries, the broker logs them.
      const refused = createServer({
        redis: `redis://app:${wrong}@${base}`,
        public: true,
        logger: createLogger({ level: 'debug', write }),
      })
      await waitFor(() => lines.some((l) => /WRONGPASS|NOAUTH|auth/i.test(l)), {
        what: 'the broker to log the refusal',
      })
      await refused.close()

      const server = createServer({
        redis: `redis://app:${secret}@${base}`,
        public: true,
        stats: 'public',
        logger: createLogger({ level: 'debug', write }),
      })
      try {
        const { url } = await server.listen(0, '127.0.0.1')
        await waitFor(() => server.broker.state === 'ready', { what: 'broker ready' })
        // Dropped and back: the reconnect paths log too.
        await admin.call('CLIENT', 'KILL', 'USER', 'app')
        await waitFor(() => server.stats().broker.reconnects > 0, { what: 'a reconnect' })
        await waitFor(() => server.broker.state === 'ready', { what: 'broker ready again' })
        const stats = await (await fetch(`${url}/stats`)).text()
        const metrics = await (await fetch(`${url}/metrics`)).text()
        for (const text of [stats, metrics, ...lines]) {
          expect(text).not.toContain(secret)
          expect(text).not.toContain(wrong)
        }
        expect(lines.length).toBeGreaterThan(0)
      } finally {
        await server.close()
      }
    } finally {
      admin.disconnect()
      await redis.stop()
    }
  }, 30_000)
})

describe('issue 15: an invalid Redis URL with a password', () => {
  it.each(['redis://app:hunter2-pass@[bad:1', 'redis://app:hunter2-pass@host:99999'])(
    'is refused as invalid-option with the password left out of the error (%s)',
    (redis) => {
      let thrown: unknown
      try {
        createServer({ redis, public: true, logger: 'silent' })
      } catch (err) {
        thrown = err
      }
      expect(thrown).toMatchObject({ code: 'invalid-option' })
      // What an app that logs the whole error would print.
      expect(inspect(thrown, { depth: 5 })).not.toContain('hunter2-pass')
      expect(JSON.stringify(thrown)).not.toContain('hunter2-pass')
      expect(String(thrown)).toContain('redis://app:[redacted]@')
    },
  )
})
