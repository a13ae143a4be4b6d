import { createKeys, parseEnvelope, RedisseError } from '@redisse/protocol'
import { startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPublisher } from '../src/index'

let redis: Redis
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(() => redis.disconnect())

function setup(options: { history?: { size: number; ttl: number } | false } = {}) {
  const prefix = uniquePrefix('pub')
  const pub = createPublisher({ redis: inject('redisUrl'), prefix, ...options })
  return { pub, prefix, keys: createKeys(prefix), [Symbol.asyncDispose]: () => pub.close() }
}

describe('publishing over Redis', () => {
  it('returns ids with increasing sequence and the channel, and PUBLISHes the envelope', async () => {
    await using ctx = setup()
    const sub = redis.duplicate()
    const received: string[] = []
    sub.on('message', (_ch, message: string) => received.push(message))
    await sub.subscribe(ctx.keys.pubsub('room:1'))
    const first = await ctx.pub.publish('room:1', 'message', { text: 'a' })
    const second = await ctx.pub.publish('room:1', 'message', { text: 'b' })
    expect(first).toMatch(/^[0-9a-z]{8}-1@room:1$/)
    expect(second).toMatch(/^[0-9a-z]{8}-2@room:1$/)
    await waitFor(() => received.length === 2, { what: 'two envelopes' })
    const envelope = parseEnvelope(received[0] ?? '')
    expect(envelope).toMatchObject({
      id: first.split('@')[0],
      channel: 'room:1',
      type: 'message',
      data: '{"text":"a"}',
    })
    expect(Math.abs(envelope.ts - Date.now())).toBeLessThan(5000)
    sub.disconnect()
  })

  it('keeps history bounded by size, with a TTL, and writes none with history: false', async () => {
    await using bounded = setup({ history: { size: 3, ttl: 60_000 } })
    for (let i = 0; i < 5; i++) await bounded.pub.publish('h', 't', i)
    const kept = await redis.zrange(bounded.keys.history('h'), '0', '-1')
    expect(kept.map((e) => parseEnvelope(e).data)).toEqual(['2', '3', '4'])
    const ttl = await redis.pttl(bounded.keys.history('h'))
    expect(ttl).toBeGreaterThan(50_000)
    await using none = setup({ history: false })
    await none.pub.publish('h', 't', 1)
    expect(await redis.exists(none.keys.history('h'))).toBe(0)
  })

  it('uses the history settings servers stored in the config hash when none is given', async () => {
    await using ctx = setup()
    await redis.hset(ctx.keys.config, { historySize: '2', historyTtl: '1000' })
    for (let i = 0; i < 4; i++) await ctx.pub.publish('c', 't', i)
    expect(await redis.zcard(ctx.keys.history('c'))).toBe(2)
    expect(await redis.pttl(ctx.keys.history('c'))).toBeLessThanOrEqual(1000)
  })

  it('publishes once for a repeated idempotency key', async () => {
    await using ctx = setup()
    const a = await ctx.pub.publish('i', 't', 1, { idempotencyKey: 'order-7' })
    const b = await ctx.pub.publish('i', 't', 1, { idempotencyKey: 'order-7' })
    expect(b).toBe(a)
    expect(await redis.zcard(ctx.keys.history('i'))).toBe(1)
  })

  it('rejects invalid names and payloads before anything reaches Redis', async () => {
    await using ctx = setup()
    const cases: Array<[Promise<unknown>, string]> = [
      [ctx.pub.publish('bad channel', 't', 1), 'invalid-channel'],
      [ctx.pub.publish('c*', 't', 1), 'invalid-channel'],
      [ctx.pub.publish('c', 'a\nb', 1), 'invalid-event-type'],
      [ctx.pub.publish('c', 'redisse:reset', 1), 'reserved-event-type'],
      [ctx.pub.publish('c', 't', 'x'.repeat(70_000)), 'payload-too-large'],
      [ctx.pub.publish('c', 't', undefined), 'invalid-payload'],
      [
        ctx.pub.publishMany([
          { channel: 'c', type: 't', data: 1 },
          { channel: '', type: 't', data: 1 },
        ]),
        'invalid-channel',
      ],
    ]
    for (const [promise, code] of cases) {
      await expect(promise).rejects.toMatchObject({ name: 'RedisseError', code })
    }
    expect(await redis.keys(`${ctx.prefix}*`)).toEqual([])
  })

  it('publishes a batch in order', async () => {
    await using ctx = setup()
    const ids = await ctx.pub.publishMany([
      { channel: 'b', type: 't', data: 1 },
      { channel: 'b', type: 't', data: 2 },
    ])
    expect(ids.map((id) => Number(id.split('-')[1]?.split('@')[0]))).toEqual([1, 2])
  })

  it('leaves a passed-in ioredis instance open on close()', async () => {
    const own = new Redis(inject('redisUrl'))
    const pub = createPublisher({ redis: own, prefix: uniquePrefix('own') })
    await pub.publish('x', 't', 1)
    await pub.close()
    expect(await own.ping()).toBe('PONG')
    own.disconnect()
  })
})

describe('subjects over Redis', () => {
  it('stores tokens hashed with an optional TTL and manages the channel list with control messages', async () => {
    await using ctx = setup()
    const sub = redis.duplicate()
    const control: string[] = []
    sub.on('message', (_c, m: string) => control.push(m))
    await sub.subscribe(ctx.keys.control)
    const user = ctx.pub.subject('user-1')
    const token = await user.generateToken({ ttl: 60_000 })
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const keys = await redis.keys(`${ctx.prefix}*`)
    expect(keys.some((k) => k.includes(token))).toBe(false)
    const tokenKey = keys.find((k) => k.startsWith(`${ctx.prefix}token:`)) ?? ''
    expect(await redis.get(tokenKey)).toBe('user-1')
    expect(await redis.pttl(tokenKey)).toBeGreaterThan(50_000)
    expect(await user.addChannel('room:2')).toBe(true)
    expect(await user.addChannel('room:1')).toBe(true)
    expect(await user.addChannel('room:1')).toBe(false)
    expect(await user.channels()).toEqual(['room:1', 'room:2'])
    expect(await user.removeChannel('room:2')).toBe(true)
    await user.clear()
    expect(await redis.keys(`${ctx.prefix}*`)).toEqual([])
    await waitFor(() => control.length === 5, { what: 'five control messages' })
    expect(control.map((m) => JSON.parse(m).op)).toEqual(['add', 'add', 'add', 'remove', 'clear'])
    sub.disconnect()
  })

  it('rejects invalid subject ids and channel names', async () => {
    await using ctx = setup()
    expect(() => ctx.pub.subject('has space')).toThrow(RedisseError)
    await expect(ctx.pub.subject('u').addChannel('no spaces')).rejects.toMatchObject({
      code: 'invalid-channel',
    })
  })
})

describe('while Redis is down', () => {
  it('fails after publishTimeout, refuses beyond maxQueued, and delivers exactly once what waited for a comeback', async () => {
    const server = await startRedis()
    const prefix = uniquePrefix('down')
    const pub = createPublisher({ redis: server.url, prefix, publishTimeout: 300, maxQueued: 2 })
    try {
      await pub.publish('d', 't', 'before')
      await server.stop({ hard: true })
      const started = Date.now()
      const timedOut = pub.publish('d', 't', 'lost')
      const queuedToo = pub.publish('d', 't', 'lost too')
      await expect(pub.publish('d', 't', 'overflow')).rejects.toMatchObject({
        code: 'broker-unavailable',
      })
      await expect(timedOut).rejects.toMatchObject({ code: 'publish-timeout' })
      await expect(queuedToo).rejects.toMatchObject({ code: 'publish-timeout' })
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)

      const slow = createPublisher({ redis: server.url, prefix, publishTimeout: 10_000 })
      const waiting = slow.publish('d', 't', 'waited')
      await server.restart()
      const id = await waiting
      expect(id).toMatch(/-1@d$/) // a fresh, empty Redis: the first event of its log
      const direct = new Redis(server.url)
      const history = await direct.zrange(createKeys(prefix).history('d'), '0', '-1')
      expect(history.map((e) => parseEnvelope(e).data)).toEqual(['"waited"'])
      direct.disconnect()
      await slow.close()
    } finally {
      await pub.close()
      await server.stop()
    }
  })
})
