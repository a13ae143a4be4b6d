import { createKeys } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { openSse, type RedisProcess, startRedis, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from '../src/index'

// Issue 14 §6: a Redis user limited to the prefix could not publish, since
// the publish script was given '' as KEYS[5] without an idempotency key and
// no key pattern allows an empty name. The users below get exactly the ACL
// documented in docs/deployment.md ("Redis ACL"): nothing more.

const PREFIX = 'app1:'

/** The server's commands, as documented. */
const SERVER_COMMANDS =
  '+ping +info +subscribe +unsubscribe +publish +evalsha +eval +multi +exec +get +pttl +mget +hmget +exists +zrangebyscore +smembers +hgetall +hset +hdel +set +sadd +srem +scard +srandmember +del +incr +time +hget +zadd +zremrangebyrank +zrange +pexpire'
/** The publisher's commands, as documented. */
const PUBLISHER_COMMANDS =
  '+info +evalsha +eval +multi +exec +publish +get +set +hmget +exists +incr +time +hget +hset +hdel +zadd +zremrangebyrank +zrange +pexpire +smembers +sadd +srem +scard +srandmember +del'

let redis: RedisProcess
let admin: Redis
const url = (user: string) => `redis://${user}:secret-${user}@127.0.0.1:${redis.port}`

beforeAll(async () => {
  redis = await startRedis()
  admin = new Redis(redis.url)
  for (const [user, commands] of [
    ['server', SERVER_COMMANDS],
    ['publisher', PUBLISHER_COMMANDS],
  ] as const) {
    await admin.call(
      'ACL',
      'SETUSER',
      user,
      'reset',
      'on',
      `>secret-${user}`,
      `~${PREFIX}*`,
      `&${PREFIX}*`,
      '-@all',
      ...commands.split(' '),
    )
  }
  // A user that may touch nothing outside another prefix, to show the test can fail.
  await admin.call('ACL', 'SETUSER', 'other', 'reset', 'on', '>secret-other', '~else:*', '&else:*')
  await admin.call('ACL', 'SETUSER', 'other', ...SERVER_COMMANDS.split(' '))
})

afterAll(async () => {
  await admin?.quit()
  await redis?.stop()
})

async function denials(): Promise<string[]> {
  const log = (await admin.call('ACL', 'LOG')) as unknown[][]
  return log.map((entry) => {
    const fields = new Map<string, unknown>()
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1])
    return `${fields.get('username')}: ${fields.get('reason')} ${fields.get('object')}`
  })
}

describe('a Redis ACL user restricted to the prefix', () => {
  it('serves streams, resumes from history, and publishes over HTTP with and without an idempotency key', async () => {
    await admin.call('ACL', 'LOG', 'RESET')
    const server = createServer({
      redis: url('server'),
      prefix: PREFIX,
      logger: 'silent',
      public: true,
      tokens: true,
      publishKey: 'acl-test-key',
    })
    const { port } = await server.listen(0, '127.0.0.1')
    const base = `http://127.0.0.1:${port}`
    const http = createPublisher({ url: base, key: 'acl-test-key' })
    try {
      const stream = await openSse(`${base}/?channel=room`)
      await stream.waitForComment('ok')
      const first = await http.publish('room', 'message', { n: 1 })
      const second = await http.publish('room', 'message', { n: 2 }, { idempotencyKey: 'once' })
      expect(await http.publish('room', 'message', { n: 2 }, { idempotencyKey: 'once' })).toBe(
        second,
      )
      await stream.waitForEvents(2)
      expect(stream.events.map((e) => [e.id, e.data])).toEqual([
        [first, '{"n":1}'],
        [second, '{"n":2}'],
      ])

      const resumed = await openSse(`${base}/?channel=room`, {
        headers: { 'last-event-id': first },
      })
      await resumed.waitForEvents(1)
      expect(resumed.events.map((e) => e.data)).toEqual(['{"n":2}'])

      // Tokens over the HTTP subject endpoints, and a live channel edit on the control channel.
      const user = http.subject('42')
      await user.addChannel('private:42')
      const token = await user.generateToken()
      const own = await openSse(`${base}/?access_token=${token}`)
      expect(own.status).toBe(200)
      await own.waitForComment('ok')
      await user.addChannel('room')
      await waitFor(() => server.stats().channels.room === 3, { what: 'live channel edit' })
      const third = await http.publish('private:42', 'message', { n: 3 })
      await own.waitForEvents(1)
      expect(own.events.map((e) => e.id)).toEqual([third])

      // The canary probe runs on the same user: the subscriber stays up.
      expect(server.stats().broker.state).toBe('ready')
      expect(server.stats().events.publishErrors).toBe(0)
      await user.removeChannel('room')
      await user.clear()
      await own.ended
      for (const s of [stream, resumed]) s.close()
      expect(await denials()).toEqual([])
    } finally {
      await http.close()
      await server.close()
    }
  })

  it('publishes over Redis with the publisher SDK, with and without an idempotency key, and manages tokens', async () => {
    await admin.call('ACL', 'LOG', 'RESET')
    const server = createServer({
      redis: url('server'),
      prefix: PREFIX,
      logger: 'silent',
      tokens: true,
    })
    const { port } = await server.listen(0, '127.0.0.1')
    const base = `http://127.0.0.1:${port}`
    const pub = createPublisher({ redis: url('publisher'), prefix: PREFIX })
    try {
      const user = pub.subject('7')
      await user.addChannel('feed')
      const token = await user.generateToken({ ttl: 60_000 })
      expect(await user.channels()).toEqual(['feed'])
      const stream = await openSse(`${base}/?access_token=${token}`)
      expect(stream.status).toBe(200)
      await stream.waitForComment('ok')
      const a = await pub.publish('feed', 'item', 'a')
      const b = await pub.publish('feed', 'item', 'b', { idempotencyKey: 'item-b' })
      expect(await pub.publish('feed', 'item', 'b', { idempotencyKey: 'item-b' })).toBe(b)
      const [c] = await pub.publishMany([{ channel: 'feed', type: 'item', data: 'c' }])
      await stream.waitForEvents(3)
      expect(stream.events.map((e) => e.id)).toEqual([a, b, c])
      const keys = createKeys(PREFIX)
      expect(await admin.zcard(keys.history('feed'))).toBe(3)
      await user.clear()
      await stream.ended
      expect(await denials()).toEqual([])
    } finally {
      await pub.close()
      await server.close()
    }
  })

  it('is refused for a user whose key pattern does not cover the prefix (the test can fail)', async () => {
    const pub = createPublisher({ redis: url('other'), prefix: PREFIX, publishTimeout: 2000 })
    try {
      await expect(pub.publish('feed', 'item', 'x')).rejects.toMatchObject({
        code: 'publish-failed',
        message: expect.stringContaining('NOPERM'),
      })
    } finally {
      await pub.close()
    }
  })
})
