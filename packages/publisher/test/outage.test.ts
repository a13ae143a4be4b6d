import { createKeys, parseEnvelope, type RedisseError } from '@redisse/protocol'
import { type RedisProcess, startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createPublisher } from '../src/index'

/** Our own redis-server, to stop and restart; the shared one stays up. */
async function ownRedis() {
  const server = await startRedis()
  const direct = new Redis(server.url, { maxRetriesPerRequest: null })
  direct.on('error', () => {})
  return {
    server,
    direct,
    async history(prefix: string, channel: string): Promise<string[]> {
      const entries = await direct.zrange(createKeys(prefix).history(channel), '0', '-1')
      return entries.map((e) => JSON.parse(parseEnvelope(e).data) as string)
    },
    async [Symbol.asyncDispose]() {
      direct.disconnect()
      await server.stop()
    },
  }
}

/** The error a promise rejects with; fails when it resolves. */
const rejection = (promise: Promise<unknown>): Promise<RedisseError> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`)
    },
    (err: RedisseError) => err,
  )

/** Publishes `data` until Redis takes it; returns what was accepted and what timed out. */
async function publishUntilAccepted(
  pub: ReturnType<typeof createPublisher>,
  channel: string,
): Promise<{ accepted: string; timedOut: string[] }> {
  const timedOut: string[] = []
  for (let attempt = 0; attempt < 50; attempt++) {
    const data = `attempt ${attempt}`
    try {
      await pub.publish(channel, 't', data)
      return { accepted: data, timedOut }
    } catch (err) {
      if ((err as RedisseError).code !== 'publish-timeout') throw err
      timedOut.push(data)
    }
  }
  throw new Error('Redis never came back')
}

const stopped = async (server: RedisProcess) => {
  await server.stop({ hard: true })
}

describe('publishing while Redis is down', () => {
  it('fails with publish-timeout after publishTimeout, and never sends it later', async () => {
    await using redis = await ownRedis()
    const prefix = uniquePrefix('down')
    const pub = createPublisher({ redis: redis.server.url, prefix, publishTimeout: 300 })
    try {
      await pub.publish('d', 't', 'before')
      await stopped(redis.server)
      const started = Date.now()
      const err = await rejection(pub.publish('d', 't', 'lost'))
      const waited = Date.now() - started
      expect(err).toMatchObject({ name: 'RedisseError', code: 'publish-timeout' })
      expect(err.message).toMatch(/300 ms \(publishTimeout\): nothing was sent/)
      expect(err.cause).toBeInstanceOf(Error) // the connection error, e.g. ECONNREFUSED
      expect(waited).toBeGreaterThanOrEqual(290)
      expect(waited).toBeLessThan(1000)

      await redis.server.restart()
      // Until the publisher has reconnected, publishes keep timing out, unsent.
      const { accepted, timedOut } = await publishUntilAccepted(pub, 'd')
      await new Promise((r) => setTimeout(r, 100))
      expect(await redis.history(prefix, 'd')).toEqual([accepted])
      expect(timedOut).not.toContain(accepted)
    } finally {
      await pub.close()
    }
  })

  it('refuses at once with broker-unavailable when maxQueued publishes already wait', async () => {
    await using redis = await ownRedis()
    const pub = createPublisher({
      redis: redis.server.url,
      prefix: uniquePrefix('full'),
      publishTimeout: 300,
      maxQueued: 2,
    })
    try {
      await pub.publish('d', 't', 'before')
      await stopped(redis.server)
      const waiting = [rejection(pub.publish('d', 't', 1)), rejection(pub.publish('d', 't', 2))]
      const started = Date.now()
      const refused = await rejection(pub.publish('d', 't', 3))
      expect(Date.now() - started).toBeLessThan(50)
      expect(refused).toMatchObject({ code: 'broker-unavailable' })
      expect(refused.message).toContain('maxQueued')
      for (const err of await Promise.all(waiting)) expect(err.code).toBe('publish-timeout')
    } finally {
      await pub.close()
    }
  })

  it('delivers exactly once, in order, what waited for Redis to come back within publishTimeout', async () => {
    await using redis = await ownRedis()
    const prefix = uniquePrefix('back')
    const pub = createPublisher({ redis: redis.server.url, prefix, publishTimeout: 10_000 })
    try {
      await pub.publish('d', 't', 'before')
      await stopped(redis.server)
      const waiting = [
        pub.publish('d', 't', 'first'),
        pub.publishMany([{ channel: 'd', type: 't', data: 'second' }]),
        pub.publish('d', 't', 'third'),
      ]
      await new Promise((r) => setTimeout(r, 200))
      await redis.server.restart() // empty: a fresh log starts at seq 1
      const [first, [second], third] = (await Promise.all(waiting)) as [string, string[], string]
      expect([first, second, third].map((id) => id?.replace(/^[0-9a-z]+-/, ''))).toEqual([
        '1@d',
        '2@d',
        '3@d',
      ])
      await new Promise((r) => setTimeout(r, 100))
      expect(await redis.history(prefix, 'd')).toEqual(['first', 'second', 'third'])
      expect(await redis.direct.get(createKeys(prefix).seq)).toBe('3')
    } finally {
      await pub.close()
    }
  })

  it('fails waiting publishes with closed when the publisher is closed', async () => {
    await using redis = await ownRedis()
    const pub = createPublisher({ redis: redis.server.url, prefix: uniquePrefix('close') })
    await pub.publish('d', 't', 'before')
    await stopped(redis.server)
    const waiting = rejection(pub.publish('d', 't', 'never'))
    await pub.close()
    expect(await waiting).toMatchObject({ code: 'closed' })
  })
})

describe('a publish in flight when the connection fails', () => {
  it('fails with publish-failed, saying it may or may not have been published, when the connection drops', async () => {
    await using redis = await ownRedis()
    const pub = createPublisher({
      redis: redis.server.url,
      prefix: uniquePrefix('inflight'),
      publishTimeout: 5000,
    })
    try {
      await pub.publish('d', 't', 'before')
      // Redis holds the next publish unanswered; then it dies.
      await redis.direct.client('PAUSE', 5000, 'ALL')
      const inFlight = rejection(pub.publish('d', 't', 'in flight'))
      await new Promise((r) => setTimeout(r, 100))
      const started = Date.now()
      await redis.server.stop({ hard: true })
      const err = await inFlight
      expect(Date.now() - started).toBeLessThan(1000)
      expect(err).toMatchObject({ code: 'publish-failed' })
      expect(err.message).toMatch(/lost after the publish was sent.*may or may not.*idempotencyKey/)
    } finally {
      await pub.close()
    }
  })

  it('fails with publish-failed when Redis does not answer within publishTimeout', async () => {
    await using redis = await ownRedis()
    const prefix = uniquePrefix('slow')
    const pub = createPublisher({ redis: redis.server.url, prefix, publishTimeout: 300 })
    try {
      await pub.publish('d', 't', 'before')
      await redis.direct.client('PAUSE', 800, 'ALL')
      const started = Date.now()
      const err = await rejection(pub.publish('d', 't', 'late'))
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)
      expect(err).toMatchObject({ code: 'publish-failed' })
      expect(err.message).toMatch(/did not answer within 300 ms.*may or may not/)
      // It was sent, so Redis runs it once the pause ends: "may" it was.
      await waitFor(async () => (await redis.history(prefix, 'd')).length === 2, {
        what: 'the late publish in history',
      })
    } finally {
      await pub.close()
    }
  })
})

describe('a passed-in ioredis instance while Redis is down', () => {
  it('queues in the publisher’s bounded queue by the instance’s status, not in ioredis’ offline queue', async () => {
    await using redis = await ownRedis()
    const own = new Redis(redis.server.url, { retryStrategy: () => 50 })
    own.on('error', () => {})
    const prefix = uniquePrefix('own-down')
    const pub = createPublisher({ redis: own, prefix, publishTimeout: 300, maxQueued: 1 })
    try {
      await pub.publish('d', 't', 'before')
      await stopped(redis.server)
      await waitFor(() => own.status !== 'ready', { what: 'the instance to notice' })
      const timedOut = rejection(pub.publish('d', 't', 'lost'))
      expect(await rejection(pub.publish('d', 't', 'refused'))).toMatchObject({
        code: 'broker-unavailable',
      })
      expect(await timedOut).toMatchObject({ code: 'publish-timeout' })
      await redis.server.restart()
      await waitFor(() => own.status === 'ready', { what: 'the instance to reconnect' })
      expect(await pub.publish('d', 't', 'after')).toMatch(/-1@d$/)
      expect(await redis.history(prefix, 'd')).toEqual(['after'])
      await pub.close()
      expect(own.status).toBe('ready')
    } finally {
      own.disconnect()
    }
  })
})
