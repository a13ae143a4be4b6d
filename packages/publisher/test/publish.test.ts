import { createKeys, parseEnvelope } from '@redisse/protocol'
import { startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPublisher, type RedisPublisherOptions } from '../src/index'

type Events = { message: { text: string } }

let redis: Redis
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(() => redis.disconnect())

/** A publisher on the shared Redis under a prefix no other test uses. */
function setup(options: Partial<RedisPublisherOptions> = {}) {
  const prefix = uniquePrefix('pub')
  const pub = createPublisher<Events>({ redis: inject('redisUrl'), prefix, ...options })
  return { pub, prefix, keys: createKeys(prefix), [Symbol.asyncDispose]: () => pub.close() }
}

/** A second connection subscribed to `channels`, collecting what arrives. */
async function listen(...channels: string[]) {
  const sub = redis.duplicate()
  const messages: Array<{ channel: string; message: string }> = []
  sub.on('message', (channel: string, message: string) => messages.push({ channel, message }))
  await sub.subscribe(...channels)
  return { messages, [Symbol.dispose]: () => sub.disconnect() }
}

const seqOf = (id: string) => Number(/-(\d+)@/.exec(id)?.[1])

describe('publish over Redis', () => {
  it('returns ids epoch-seq@channel with increasing seq across channels', async () => {
    await using ctx = setup()
    const ids = [
      await ctx.pub.publish('room:1', 'message', { text: 'a' }),
      await ctx.pub.publish('room:2', 'message', { text: 'b' }),
      await ctx.pub.publish('room:1', 'message', { text: 'c' }),
    ]
    expect(ids[0]).toMatch(/^[0-9a-z]{8}-1@room:1$/)
    expect(ids[1]).toMatch(/^[0-9a-z]{8}-2@room:2$/)
    expect(ids[2]).toMatch(/^[0-9a-z]{8}-3@room:1$/)
    expect(new Set(ids.map((id) => id.split('-')[0])).size).toBe(1)
    expect(await redis.get(ctx.keys.epoch)).toBe(ids[0]?.split('-')[0])
  })

  it('PUBLISHes the envelope on the channel’s pub/sub channel, parsable by parseEnvelope', async () => {
    await using ctx = setup()
    using sub = await listen(ctx.keys.pubsub('room:1'))
    const id = await ctx.pub.publish('room:1', 'message', { text: 'multi\nline ✓' })
    await waitFor(() => sub.messages.length === 1, { what: 'the envelope' })
    expect(sub.messages[0]?.channel).toBe(ctx.keys.pubsub('room:1'))
    const envelope = parseEnvelope(sub.messages[0]?.message ?? '')
    expect(envelope).toEqual({
      id: id.split('@')[0],
      channel: 'room:1',
      type: 'message',
      ts: expect.any(Number),
      data: '{"text":"multi\\nline ✓"}',
    })
    expect(Math.abs(envelope.ts - Date.now())).toBeLessThan(5000)
  })

  it('writes history bounded by size with its ttl', async () => {
    await using ctx = setup({ history: { size: 3, ttl: 60_000 } })
    for (let i = 0; i < 5; i++) await ctx.pub.publish('h', 'message', { text: String(i) })
    const kept = await redis.zrange(ctx.keys.history('h'), '0', '-1', 'WITHSCORES')
    expect(kept.filter((_, i) => i % 2 === 0).map((e) => parseEnvelope(e).data)).toEqual([
      '{"text":"2"}',
      '{"text":"3"}',
      '{"text":"4"}',
    ])
    expect(kept.filter((_, i) => i % 2 === 1)).toEqual(['3', '4', '5'])
    const ttl = await redis.pttl(ctx.keys.history('h'))
    expect(ttl).toBeGreaterThan(55_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('writes no history with history: false, and still delivers', async () => {
    await using ctx = setup({ history: false })
    using sub = await listen(ctx.keys.pubsub('h'))
    await ctx.pub.publish('h', 'message', { text: 'live only' })
    await waitFor(() => sub.messages.length === 1, { what: 'the envelope' })
    expect(await redis.exists(ctx.keys.history('h'))).toBe(0)
  })

  it('uses the history the servers stored in the config hash when history is absent', async () => {
    await using ctx = setup()
    await redis.hset(ctx.keys.config, { historySize: '2', historyTtl: '1000' })
    for (let i = 0; i < 4; i++) await ctx.pub.publish('c', 'message', { text: String(i) })
    expect(await redis.zcard(ctx.keys.history('c'))).toBe(2)
    expect(await redis.pttl(ctx.keys.history('c'))).toBeLessThanOrEqual(1000)
  })

  it('publishes once per idempotency key and returns the first id again', async () => {
    await using ctx = setup()
    using sub = await listen(ctx.keys.pubsub('i'))
    const first = await ctx.pub.publish(
      'i',
      'message',
      { text: 'x' },
      { idempotencyKey: 'order-7' },
    )
    const again = await ctx.pub.publish(
      'i',
      'message',
      { text: 'x' },
      { idempotencyKey: 'order-7' },
    )
    const other = await ctx.pub.publish(
      'i',
      'message',
      { text: 'x' },
      { idempotencyKey: 'order-8' },
    )
    expect(again).toBe(first)
    expect(seqOf(other)).toBe(seqOf(first) + 1)
    expect(await redis.zcard(ctx.keys.history('i'))).toBe(2)
    await waitFor(() => sub.messages.length === 2, { what: 'two envelopes' })
    await new Promise((r) => setTimeout(r, 50))
    expect(sub.messages).toHaveLength(2)
  })

  it('rejects invalid channel, type and payload before any command reaches Redis', async () => {
    await using ctx = setup()
    const monitor = await redis.monitor()
    const seen: string[][] = []
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((arg) => arg.includes(ctx.prefix))) seen.push(args)
    })
    try {
      const pub = ctx.pub as unknown as ReturnType<typeof createPublisher>
      const cases: Array<[Promise<unknown>, string]> = [
        [pub.publish('bad channel', 't', 1), 'invalid-channel'],
        [pub.publish('c*', 't', 1), 'invalid-channel'],
        [pub.publish('c', 'a\nb', 1), 'invalid-event-type'],
        [pub.publish('c', 'redisse:reset', 1), 'reserved-event-type'],
        [pub.publish('c', 't', 'x'.repeat(70_000)), 'payload-too-large'],
        [pub.publish('c', 't', undefined), 'invalid-payload'],
        [pub.publish('c', 't', 1, { idempotencyKey: 'has space' }), 'invalid-idempotency-key'],
        [
          pub.publishMany([
            { channel: 'c', type: 't', data: 1 },
            { channel: '', type: 't', data: 1 },
          ]),
          'invalid-channel',
        ],
      ]
      for (const [promise, code] of cases) {
        await expect(promise).rejects.toMatchObject({ name: 'RedisseError', code })
      }
      // A valid publish afterwards shows MONITOR was watching: MONITOR keeps
      // order, so its script call must be the first command seen.
      await pub.publish('sentinel', 't', 1)
      await waitFor(() => seen.length > 0, { what: 'the sentinel publish in MONITOR' })
      expect(seen[0]?.[0]).toMatch(/^eval/i)
      expect(seen[0]).toContain(ctx.keys.pubsub('sentinel'))
      expect(await redis.get(ctx.keys.seq)).toBe('1')
    } finally {
      monitor.disconnect()
    }
  })

  it('publishes a batch in one MULTI: consecutive seq, in order, ids in order', async () => {
    await using ctx = setup()
    using sub = await listen(ctx.keys.pubsub('a'), ctx.keys.pubsub('b'))
    const ids = await ctx.pub.publishMany([
      { channel: 'a', type: 'message', data: { text: '1' } },
      { channel: 'b', type: 'message', data: { text: '2' }, idempotencyKey: 'k' },
      { channel: 'a', type: 'message', data: { text: '3' } },
    ])
    expect(ids.map(seqOf)).toEqual([1, 2, 3])
    expect(ids.map((id) => id.split('@')[1])).toEqual(['a', 'b', 'a'])
    await waitFor(() => sub.messages.length === 3, { what: 'three envelopes' })
    expect(sub.messages.map((m) => parseEnvelope(m.message).data)).toEqual([
      '{"text":"1"}',
      '{"text":"2"}',
      '{"text":"3"}',
    ])
    expect(await ctx.pub.publishMany([])).toEqual([])
  })

  it('loads the script again when Redis lost it (NOSCRIPT, then EVAL)', async () => {
    // SCRIPT FLUSH on the shared Redis would disturb other files: use our own.
    const server = await startRedis()
    const pub = createPublisher({ redis: server.url, prefix: uniquePrefix('noscript') })
    const direct = new Redis(server.url)
    try {
      expect(await pub.publish('s', 'message', { text: 'x' })).toMatch(/-1@s$/)
      await direct.script('FLUSH')
      expect(await pub.publish('s', 'message', { text: 'y' })).toMatch(/-2@s$/)
      await direct.script('FLUSH')
      expect(await pub.publishMany([{ channel: 's', type: 'm', data: 1 }])).toEqual([
        expect.stringMatching(/-3@s$/),
      ])
    } finally {
      direct.disconnect()
      await pub.close()
      await server.stop()
    }
  })

  it('fails with closed after close()', async () => {
    const ctx = setup()
    await ctx.pub.publish('c', 'message', { text: 'x' })
    await ctx.pub.close()
    await expect(ctx.pub.publish('c', 'message', { text: 'y' })).rejects.toMatchObject({
      code: 'closed',
    })
    await ctx.pub.close()
  })
})

describe('a passed-in ioredis instance', () => {
  it('is used as is and left open by close()', async () => {
    const own = new Redis(inject('redisUrl'))
    const prefix = uniquePrefix('own')
    const pub = createPublisher({ redis: own, prefix })
    expect(await pub.publish('x', 't', 1)).toMatch(/-1@x$/)
    await pub.close()
    expect(own.status).toBe('ready')
    expect(await own.get(createKeys(prefix).seq)).toBe('1')
    own.disconnect()
  })

  it('is connected on the first publish when created with lazyConnect', async () => {
    const own = new Redis(inject('redisUrl'), { lazyConnect: true })
    const pub = createPublisher({ redis: own, prefix: uniquePrefix('lazy') })
    expect(own.status).toBe('wait')
    expect(await pub.publish('x', 't', 1)).toMatch(/-1@x$/)
    await pub.close()
    own.disconnect()
  })

  it('is refused with a keyPrefix, which would not apply to pub/sub channels', () => {
    const own = new Redis(inject('redisUrl'), { lazyConnect: true, keyPrefix: 'app:' })
    expect(() => createPublisher({ redis: own })).toThrow(
      expect.objectContaining({ code: 'invalid-option' }),
    )
    own.disconnect()
  })
})
