import { type ControlMessage, createKeys, hashToken, parseControl } from '@redisse/protocol'
import { uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPublisher } from '../src/index'

let redis: Redis
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(() => redis.disconnect())

/** A publisher under its own prefix, and the control messages published under it. */
async function setup() {
  const prefix = uniquePrefix('subj')
  const keys = createKeys(prefix)
  const pub = createPublisher({ redis: inject('redisUrl'), prefix })
  const sub = redis.duplicate()
  const control: ControlMessage[] = []
  sub.on('message', (_channel: string, message: string) => control.push(parseControl(message)))
  await sub.subscribe(keys.control)
  return {
    pub,
    prefix,
    keys,
    control,
    /** Every key under the prefix with its value (strings and sets). */
    async dump(): Promise<Record<string, string | string[] | Record<string, string>>> {
      const out: Record<string, string | string[] | Record<string, string>> = {}
      for (const key of await redis.keys(`${prefix}*`)) {
        const type = await redis.type(key)
        out[key] =
          type === 'set'
            ? (await redis.smembers(key)).sort()
            : type === 'hash'
              ? await redis.hgetall(key)
              : ((await redis.get(key)) ?? '')
      }
      return out
    },
    async [Symbol.asyncDispose]() {
      sub.disconnect()
      await pub.close()
    },
  }
}

describe('subject tokens', () => {
  it('stores only the token hash, mapping hash to subject, listed in the subject’s token set', async () => {
    await using ctx = await setup()
    const token = await ctx.pub.subject('user-1').generateToken()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const hash = await hashToken(token)
    expect(await ctx.dump()).toEqual({
      [ctx.keys.token(hash)]: 'user-1',
      [ctx.keys.subjectTokens('user-1')]: [hash],
    })
    const everything = JSON.stringify(await ctx.dump())
    expect(everything).not.toContain(token)
    expect(await redis.pttl(ctx.keys.token(hash))).toBe(-1)
  })

  it('applies the ttl to the token key', async () => {
    await using ctx = await setup()
    const token = await ctx.pub.subject('user-1').generateToken({ ttl: 60_000 })
    const ttl = await redis.pttl(ctx.keys.token(await hashToken(token)))
    expect(ttl).toBeGreaterThan(55_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('creates a different token each time', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    const tokens = [await user.generateToken(), await user.generateToken()]
    expect(tokens[0]).not.toBe(tokens[1])
    expect(await redis.scard(ctx.keys.subjectTokens('user-1'))).toBe(2)
  })

  it('rejects a ttl that is not a positive integer, before anything reaches Redis', async () => {
    await using ctx = await setup()
    for (const ttl of [0, -1, 1.5, Number.NaN]) {
      await expect(ctx.pub.subject('u').generateToken({ ttl })).rejects.toMatchObject({
        code: 'invalid-ttl',
      })
    }
    expect(await ctx.dump()).toEqual({})
  })
})

describe('subject token revocation and pruning', () => {
  it('revokeToken() deletes that token only, and announces its hash on the control channel', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    const revoked = await user.generateToken({ ttl: 60_000 })
    const kept = await user.generateToken()
    await user.addChannel('room:1')
    expect(await user.revokeToken(revoked)).toBe(true)
    expect(await ctx.dump()).toEqual({
      [ctx.keys.token(await hashToken(kept))]: 'user-1',
      [ctx.keys.subjectTokens('user-1')]: [await hashToken(kept)],
      [ctx.keys.subjectChannels('user-1')]: ['room:1'],
      // Nothing was published yet: the grant is at the start of no epoch.
      [ctx.keys.subjectGranted('user-1')]: { 'room:1': '-0' },
    })
    await waitFor(() => ctx.control.some((m) => m.op === 'revoke'), { what: 'the revoke message' })
    expect(ctx.control.at(-1)).toEqual({
      v: 1,
      op: 'revoke',
      subject: 'user-1',
      tokenHash: await hashToken(revoked),
    })
    expect(await user.revokeToken(revoked)).toBe(false)
  })

  it('revokeToken() leaves a token of another subject valid, and answers false', async () => {
    await using ctx = await setup()
    const theirs = await ctx.pub.subject('user-2').generateToken()
    expect(await ctx.pub.subject('user-1').revokeToken(theirs)).toBe(false)
    expect(await ctx.dump()).toEqual({
      [ctx.keys.token(await hashToken(theirs))]: 'user-2',
      [ctx.keys.subjectTokens('user-2')]: [await hashToken(theirs)],
    })
    expect(await ctx.pub.subject('user-1').revokeToken('never-issued')).toBe(false)
    await new Promise((r) => setTimeout(r, 20))
    expect(ctx.control).toEqual([])
  })

  it('prunes hashes of expired tokens from subject-tokens as tokens are issued', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    const longLived = await user.generateToken()
    const key = ctx.keys.subjectTokens('user-1')
    // 20 rounds of 100 short-lived tokens: 2,001 issued in all.
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 100 }, () => user.generateToken({ ttl: 20 })))
      // Expired token keys answer EXISTS 0 at once, even before Redis evicts them.
      await new Promise((r) => setTimeout(r, 25))
      expect(await redis.scard(key)).toBeLessThanOrEqual(250)
    }
    // Pruned by samples of 128: two calls clear the 250 at most left, the third is margin.
    const fresh: string[] = []
    for (let i = 0; i < 3; i++) fresh.push(await user.generateToken({ ttl: 60_000 }))
    expect((await redis.smembers(key)).sort()).toEqual(
      (await Promise.all([longLived, ...fresh].map(hashToken))).sort(),
    )
  })

  it('prunes hashes of expired tokens on revokeToken too', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    for (let i = 0; i < 5; i++) await user.generateToken({ ttl: 30 })
    const live = await user.generateToken()
    await new Promise((r) => setTimeout(r, 60))
    expect(await user.revokeToken(live)).toBe(true)
    expect(await redis.exists(ctx.keys.subjectTokens('user-1'))).toBe(0)
  })
})

describe('subject channels', () => {
  it('adds, removes and lists channels sorted, announcing each edit on the control channel', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    expect(await user.addChannel('room:2')).toBe(true)
    expect(await user.addChannel('room:1')).toBe(true)
    expect(await user.addChannel('room:1')).toBe(false)
    expect(await user.channels()).toEqual(['room:1', 'room:2'])
    expect(await user.removeChannel('room:2')).toBe(true)
    expect(await user.removeChannel('room:2')).toBe(false)
    expect(await user.channels()).toEqual(['room:1'])
    expect(await redis.smembers(ctx.keys.subjectChannels('user-1'))).toEqual(['room:1'])
    await waitFor(() => ctx.control.length === 5, { what: 'five control messages' })
    expect(ctx.control).toEqual([
      { v: 1, op: 'add', subject: 'user-1', channel: 'room:2' },
      { v: 1, op: 'add', subject: 'user-1', channel: 'room:1' },
      { v: 1, op: 'add', subject: 'user-1', channel: 'room:1' },
      { v: 1, op: 'remove', subject: 'user-1', channel: 'room:2' },
      { v: 1, op: 'remove', subject: 'user-1', channel: 'room:2' },
    ])
  })

  it('records the log position of each grant, keeps the first one, and forgets it on removal', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    await user.addChannel('early')
    const id = await ctx.pub.publish('elsewhere', 'm', 1)
    const cursor = id.split('@')[0] ?? ''
    await user.addChannel('room:1')
    await ctx.pub.publish('room:1', 'm', 2)
    await user.addChannel('room:1')
    expect(await redis.hgetall(ctx.keys.subjectGranted('user-1'))).toEqual({
      early: '-0',
      'room:1': cursor,
    })
    await user.removeChannel('room:1')
    expect(await redis.hgetall(ctx.keys.subjectGranted('user-1'))).toEqual({ early: '-0' })
  })

  it('lists no channels for an unknown subject', async () => {
    await using ctx = await setup()
    expect(await ctx.pub.subject('nobody').channels()).toEqual([])
  })

  it('clear() deletes the subject’s tokens, token set and channels, and announces it', async () => {
    await using ctx = await setup()
    const user = ctx.pub.subject('user-1')
    const other = ctx.pub.subject('user-2')
    await user.generateToken()
    await user.generateToken({ ttl: 60_000 })
    await user.addChannel('room:1')
    const kept = await other.generateToken()
    await other.addChannel('room:1')
    await user.clear()
    expect(await ctx.dump()).toEqual({
      [ctx.keys.token(await hashToken(kept))]: 'user-2',
      [ctx.keys.subjectTokens('user-2')]: [await hashToken(kept)],
      [ctx.keys.subjectChannels('user-2')]: ['room:1'],
      [ctx.keys.subjectGranted('user-2')]: { 'room:1': '-0' },
    })
    await waitFor(() => ctx.control.some((m) => m.op === 'clear'), { what: 'the clear message' })
    expect(ctx.control.at(-1)).toEqual({ v: 1, op: 'clear', subject: 'user-1' })
    await user.clear() // nothing left: still fine
  })

  it('rejects invalid subject ids and channel names before anything reaches Redis', async () => {
    await using ctx = await setup()
    expect(() => ctx.pub.subject('has space')).toThrow(
      expect.objectContaining({ name: 'RedisseError', code: 'invalid-subject' }),
    )
    expect(() => ctx.pub.subject('')).toThrow(expect.objectContaining({ code: 'invalid-subject' }))
    await expect(ctx.pub.subject('u').addChannel('no spaces')).rejects.toMatchObject({
      code: 'invalid-channel',
    })
    await expect(ctx.pub.subject('u').removeChannel('a*')).rejects.toMatchObject({
      code: 'invalid-channel',
    })
    expect(await ctx.dump()).toEqual({})
    await new Promise((r) => setTimeout(r, 20))
    expect(ctx.control).toEqual([])
  })
})
