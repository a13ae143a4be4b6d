import {
  type ControlMessage,
  clusterSlot,
  createKeys,
  DEFAULT_CLUSTER_PARTITIONS,
  hashToken,
  isRedisseError,
  parseControl,
  parseEnvelope,
  partitionOf,
  partitionPrefix,
  type RedisKeys,
} from '@redisse/protocol'
import {
  type RedisClusterProcess,
  startRedisCluster,
  startTcpProxy,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublisher, type RedisPublisherOptions } from '../src/index'

type Events = { message: { n: number; ch?: string } }
const P = DEFAULT_CLUSTER_PARTITIONS

let redisCluster: RedisClusterProcess
/** A plain cluster client of the test's own, to read what the publisher wrote. */
let reader: Cluster
beforeAll(async () => {
  redisCluster = await startRedisCluster()
  reader = new Cluster(redisCluster.urls.slice(0, 1))
  await reader.ping()
}, 60_000)
afterAll(async () => {
  reader?.disconnect()
  await redisCluster?.stop()
})

/** The keys of a channel's partition under `prefix`. */
const partitionKeys = (prefix: string, channel: string): RedisKeys =>
  createKeys(partitionPrefix(prefix, partitionOf(channel, P), P))

/** A publisher on the cluster under a prefix no other test uses. */
function setup(options: Partial<RedisPublisherOptions> = {}) {
  const prefix = uniquePrefix('cl').replaceAll(/[{}]/g, '')
  const pub = createPublisher<Events>({
    redis: { cluster: redisCluster.urls },
    prefix,
    ...options,
  })
  return { pub, prefix, [Symbol.asyncDispose]: () => pub.close() }
}

/** 64 channel names that cover every partition. */
function spreadChannels(): string[] {
  const channels = Array.from({ length: 64 }, (_, i) => `doc:${i}`)
  expect(new Set(channels.map((ch) => partitionOf(ch, P))).size).toBe(P)
  return channels
}

/** What the history of a channel holds: the envelopes, oldest first. */
async function historyOf(prefix: string, channel: string) {
  const raw = await reader.zrange(partitionKeys(prefix, channel).history(channel), '0', '-1')
  return raw.map((entry) => parseEnvelope(entry))
}

/** Sum over every master of `INFO commandstats` calls of `command`. */
async function callsOnMasters(command: string): Promise<number[]> {
  const masters = (await redisCluster.refresh()).filter((n) => n.role === 'master' && n.alive)
  return Promise.all(
    masters.map(async (n) => (await redisCluster.commandStats(n.port))[command] ?? 0),
  )
}

describe('publish over Redis Cluster', () => {
  it('appends each channel to its partition’s history, in order, with a sequence per partition', async () => {
    await using ctx = setup()
    const channels = spreadChannels()
    const ids = new Map<string, string[]>()
    for (let round = 0; round < 3; round++) {
      for (const ch of channels) {
        const id = await ctx.pub.publish(ch, 'message', { n: round, ch })
        ids.set(ch, [...(ids.get(ch) ?? []), id])
      }
    }
    const seqsByPartition = new Map<number, number[]>()
    const epochs = new Map<number, string>()
    for (const ch of channels) {
      const history = await historyOf(ctx.prefix, ch)
      expect(history.map((e) => e.data)).toEqual([0, 1, 2].map((n) => JSON.stringify({ n, ch })))
      expect(history.map((e) => `${e.id}@${ch}`)).toEqual(ids.get(ch))
      const p = partitionOf(ch, P)
      for (const e of history) {
        const [epoch = '', seq = ''] = e.id.split('-')
        expect(epochs.get(p) ?? epoch).toBe(epoch)
        epochs.set(p, epoch)
        seqsByPartition.set(p, [...(seqsByPartition.get(p) ?? []), Number(seq)])
      }
    }
    // Each partition counts its own events: 1..n with nothing shared between them.
    for (const [p, seqs] of seqsByPartition) {
      const n = channels.filter((ch) => partitionOf(ch, P) === p).length * 3
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
      expect(await reader.get(createKeys(partitionPrefix(ctx.prefix, p, P)).seq)).toBe(String(n))
    }
    expect(new Set(epochs.values()).size).toBe(P)
  })

  it('carries events by SPUBLISH to a sharded subscriber, never by PUBLISH', async () => {
    await using ctx = setup()
    const channels = spreadChannels()
    const sub = new Cluster(redisCluster.urls.slice(0, 1), { shardedSubscribers: true })
    try {
      const got: Array<{ channel: string; id: string }> = []
      sub.on('smessage', (pubsub: string, message: string) => {
        got.push({ channel: pubsub, id: parseEnvelope(message).id })
      })
      for (const ch of channels) await sub.ssubscribe(partitionKeys(ctx.prefix, ch).pubsub(ch))
      const publishBefore = await callsOnMasters('publish')
      const spublishBefore = await callsOnMasters('spublish')
      const ids: string[] = []
      for (const ch of channels) ids.push(await ctx.pub.publish(ch, 'message', { n: 1 }))
      await waitFor(() => got.length === channels.length, { what: 'every sharded message' })
      expect(got.map((m) => m.id).sort()).toEqual(ids.map((id) => id.split('@')[0]).sort())
      for (const m of got) {
        const ch = channels.find((c) => partitionKeys(ctx.prefix, c).pubsub(c) === m.channel)
        expect(ch).toBeDefined()
      }
      const publishAfter = await callsOnMasters('publish')
      const spublishAfter = await callsOnMasters('spublish')
      expect(publishAfter).toEqual(publishBefore)
      const spublished = spublishAfter.map((n, i) => n - (spublishBefore[i] ?? 0))
      expect(spublished.reduce((a, b) => a + b, 0)).toBe(channels.length)
      // Partitions are spread over the masters: each of the 3 carried some.
      for (const n of spublished) expect(n).toBeGreaterThan(0)
    } finally {
      sub.disconnect()
    }
  })

  it('publishes a batch over several partitions in order per channel', async () => {
    await using ctx = setup()
    const channels = spreadChannels().slice(0, 8)
    const batch = channels.flatMap((ch) =>
      [0, 1, 2].map((n) => ({ channel: ch, type: 'message' as const, data: { n, ch } })),
    )
    const ids = await ctx.pub.publishMany(batch)
    expect(ids).toHaveLength(batch.length)
    for (const ch of channels) {
      const history = await historyOf(ctx.prefix, ch)
      expect(history.map((e) => e.data)).toEqual([0, 1, 2].map((n) => JSON.stringify({ n, ch })))
      expect(history.map((e) => `${e.id}@${ch}`)).toEqual(ids.filter((id) => id.endsWith(`@${ch}`)))
    }
  })

  it('dedups by idempotency key within the channel’s partition', async () => {
    await using ctx = setup()
    const first = await ctx.pub.publish('orders:7', 'message', { n: 1 }, { idempotencyKey: 'k1' })
    const again = await ctx.pub.publish('orders:7', 'message', { n: 2 }, { idempotencyKey: 'k1' })
    expect(again).toBe(first)
    expect(await historyOf(ctx.prefix, 'orders:7')).toHaveLength(1)
    const idem = partitionKeys(ctx.prefix, 'orders:7').idempotency('k1')
    expect(await reader.get(idem)).toBe(first.split('@')[0])
    // A channel of another partition has its own keys: the same key publishes there.
    const other = spreadChannels().find(
      (ch) => partitionOf(ch, P) !== partitionOf('orders:7', P),
    ) as string
    const elsewhere = await ctx.pub.publish(other, 'message', { n: 3 }, { idempotencyKey: 'k1' })
    expect(elsewhere).not.toBe(first)
    expect(await historyOf(ctx.prefix, other)).toHaveLength(1)
  })

  it('refuses with partitions-mismatch, naming redis.partitions, when the servers use another count', async () => {
    await using ctx = setup({ redis: { cluster: redisCluster.urls, partitions: 8 } })
    const channel = 'room:1'
    const keys8 = createKeys(partitionPrefix(ctx.prefix, partitionOf(channel, 8), 8))
    await reader.hset(keys8.config, 'partitions', '16')
    const err = await ctx.pub.publish(channel, 'message', { n: 1 }).catch((e: unknown) => e)
    expect(isRedisseError(err, 'partitions-mismatch')).toBe(true)
    expect((err as Error).message).toContain('set the publisher option redis.partitions to 16')
    expect(await reader.exists(keys8.history(channel))).toBe(0)
    await reader.hset(keys8.config, 'partitions', '8')
    expect(await ctx.pub.publish(channel, 'message', { n: 2 })).toMatch(/^[0-9a-z]+-1@room:1$/)
  })

  it('refuses with partitions-mismatch when the servers recorded another count, before any write', async () => {
    await using ctx = setup({ redis: { cluster: redisCluster.urls, partitions: 8 } })
    // Partition 8's config sits under a tag of P = 8, which servers with P = 16 never write.
    await reader.set(createKeys(ctx.prefix).partitions, '16')
    const err = await ctx.pub.publish('room:1', 'message', { n: 1 }).catch((e: unknown) => e)
    expect(isRedisseError(err, 'partitions-mismatch')).toBe(true)
    expect((err as Error).message).toContain('set the publisher option redis.partitions to 16')
    const keys8 = createKeys(partitionPrefix(ctx.prefix, partitionOf('room:1', 8), 8))
    expect(await reader.exists(keys8.seq, keys8.history('room:1'))).toBe(0)
    const batch = await ctx.pub
      .publishMany([{ channel: 'room:1', type: 'message', data: { n: 2 } }])
      .catch((e: unknown) => e)
    expect(isRedisseError(batch, 'partitions-mismatch')).toBe(true)
  })

  it('takes an ioredis Cluster instance and leaves it open on close()', async () => {
    const prefix = uniquePrefix('cli').replaceAll(/[{}]/g, '')
    const instance = new Cluster(redisCluster.urls.slice(0, 2))
    try {
      const pub = createPublisher<Events>({ redis: instance, prefix })
      const id = await pub.publish('room:9', 'message', { n: 1 })
      expect(id).toMatch(/^[0-9a-z]+-1@room:9$/)
      await pub.close()
      expect(await instance.ping()).toBe('PONG')
      const pub8 = createPublisher<Events>({ redis: { cluster: instance, partitions: 8 }, prefix })
      await pub8.publish('room:9', 'message', { n: 2 })
      const keys8 = createKeys(partitionPrefix(prefix, partitionOf('room:9', 8), 8))
      expect(await instance.zcard(keys8.history('room:9'))).toBe(1)
      await pub8.close()
    } finally {
      instance.disconnect()
    }
  })
})

describe('subjects over Redis Cluster', () => {
  async function subjectSetup() {
    const ctx = setup()
    const keys = createKeys(ctx.prefix, { cluster: true })
    const sub = new Cluster(redisCluster.urls.slice(0, 1))
    const control: ControlMessage[] = []
    sub.on('message', (_channel: string, message: string) => control.push(parseControl(message)))
    await sub.subscribe(keys.control)
    return {
      ...ctx,
      keys,
      control,
      async [Symbol.asyncDispose]() {
        sub.disconnect()
        await ctx.pub.close()
      },
    }
  }

  it('keeps a subject’s keys in one slot, with braces in its id', async () => {
    await using ctx = await subjectSetup()
    const ann = ctx.pub.subject('{ann}')
    const token = await ann.generateToken({ ttl: 60_000 })
    const hash = await hashToken(token)
    expect(await reader.get(ctx.keys.token(hash))).toBe('{ann}')
    expect(await reader.pttl(ctx.keys.token(hash))).toBeGreaterThan(50_000)
    expect(await reader.smembers(ctx.keys.subjectTokens('{ann}'))).toEqual([hash])
    expect(await ann.addChannel('room:1')).toBe(true)
    expect(await ann.addChannel('room:1')).toBe(false)
    expect(await ann.addChannel('room:2')).toBe(true)
    expect(await ann.channels()).toEqual(['room:1', 'room:2'])
    const slot = clusterSlot(ctx.keys.subjectChannels('{ann}'))
    expect(clusterSlot(ctx.keys.subjectGranted('{ann}'))).toBe(slot)
    expect(clusterSlot(ctx.keys.subjectTokens('{ann}'))).toBe(slot)
    expect(await ann.removeChannel('room:1')).toBe(true)
    expect(await ann.removeChannel('room:1')).toBe(false)
    expect(await ann.channels()).toEqual(['room:2'])
    // Every edit is announced, a no-op one too (as on a single Redis).
    await waitFor(() => ctx.control.length === 5, { what: 'the control messages' })
    expect(ctx.control).toEqual([
      { v: 1, op: 'add', subject: '{ann}', channel: 'room:1' },
      { v: 1, op: 'add', subject: '{ann}', channel: 'room:1' },
      { v: 1, op: 'add', subject: '{ann}', channel: 'room:2' },
      { v: 1, op: 'remove', subject: '{ann}', channel: 'room:1' },
      { v: 1, op: 'remove', subject: '{ann}', channel: 'room:1' },
    ])
  })

  it('records the grant at the position of the channel’s partition', async () => {
    await using ctx = await subjectSetup()
    const last = await ctx.pub.publish('room:5', 'message', { n: 1 })
    const ann = ctx.pub.subject('ann')
    await ann.addChannel('room:5')
    await ann.addChannel('room:never')
    const granted = await reader.hgetall(ctx.keys.subjectGranted('ann'))
    expect(granted).toEqual({ 'room:5': last.split('@')[0], 'room:never': '-0' })
  })

  it('revokes one token and clears a subject, announcing each', async () => {
    await using ctx = await subjectSetup()
    const bob = ctx.pub.subject('bob')
    const t1 = await bob.generateToken()
    const tokens = [t1, await bob.generateToken(), await bob.generateToken()]
    const [h1 = '', h2 = '', h3 = ''] = await Promise.all(tokens.map((t) => hashToken(t)))
    await bob.addChannel('room:1')
    expect(await ctx.pub.subject('eve').revokeToken(t1)).toBe(false)
    expect(await bob.revokeToken(t1)).toBe(true)
    expect(await bob.revokeToken(t1)).toBe(false)
    expect(await reader.exists(ctx.keys.token(h1))).toBe(0)
    expect((await reader.smembers(ctx.keys.subjectTokens('bob'))).sort()).toEqual([h2, h3].sort())
    await bob.clear()
    expect(await reader.exists(ctx.keys.token(h2))).toBe(0)
    expect(await reader.exists(ctx.keys.token(h3))).toBe(0)
    expect(await reader.exists(ctx.keys.subjectTokens('bob'))).toBe(0)
    expect(await reader.exists(ctx.keys.subjectChannels('bob'))).toBe(0)
    expect(await reader.exists(ctx.keys.subjectGranted('bob'))).toBe(0)
    await waitFor(() => ctx.control.length === 3, { what: 'the control messages' })
    expect(ctx.control).toEqual([
      { v: 1, op: 'add', subject: 'bob', channel: 'room:1' },
      { v: 1, op: 'revoke', subject: 'bob', tokenHash: h1 },
      { v: 1, op: 'clear', subject: 'bob' },
    ])
  })

  it('drops hashes of expired tokens from the subject’s set on the next generateToken', async () => {
    await using ctx = await subjectSetup()
    const cy = ctx.pub.subject('cy')
    await cy.generateToken({ ttl: 50 })
    await new Promise((r) => setTimeout(r, 120))
    const live = await hashToken(await cy.generateToken())
    expect(await reader.smembers(ctx.keys.subjectTokens('cy'))).toEqual([live])
  })
})

describe('a cluster that cannot be reached', () => {
  it('fails a publish with publish-timeout after publishTimeout, and closes at once', async () => {
    const pub = createPublisher<Events>({
      redis: { cluster: ['redis://127.0.0.1:1'] },
      publishTimeout: 300,
    })
    const started = Date.now()
    const err = await pub.publish('room:1', 'message', { n: 1 }).catch((e: unknown) => e)
    expect(isRedisseError(err, 'publish-timeout')).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)
    const waiting = pub.subject('ann').channels()
    await pub.close()
    await expect(waiting).rejects.toMatchObject({ code: 'closed' })
  })
})

// A node that keeps its connections open and answers nothing (a half-open
// link, a frozen process) is what no error event reports: close() must end
// all the same, and a publish in flight must fail, typed, within its bound.
describe('a cluster whose masters go silent', () => {
  it('closes within 5 publishTimeouts, failing a publish in flight with publish-failed (it may have been applied)', async () => {
    const masters = (await redisCluster.refresh()).filter((n) => n.role === 'master' && n.alive)
    const proxies = await Promise.all(masters.map((n) => startTcpProxy(n.port)))
    try {
      const pub = createPublisher<Events>({
        redis: {
          cluster: [`redis://127.0.0.1:${proxies[0]?.port}`],
          natMap: Object.fromEntries(
            masters.map((n, i) => [
              `127.0.0.1:${n.port}`,
              { host: '127.0.0.1', port: proxies[i]?.port ?? 0 },
            ]),
          ),
        },
        prefix: uniquePrefix('silent').replaceAll(/[{}]/g, ''),
        publishTimeout: 400,
      })
      const channels = spreadChannels()
      await pub.publishMany(
        channels.map((channel) => ({ channel, type: 'message', data: { n: 0 } })),
      )
      for (const proxy of proxies) proxy.freeze()
      const inFlight = pub.publish('doc:1', 'message', { n: 1 }).catch((e: unknown) => e)
      const closed = pub.close().then(() => 'closed')
      const bound = new Promise((resolve) => setTimeout(() => resolve('still closing'), 5 * 400))
      expect(await Promise.race([closed, bound])).toBe('closed')
      const err = await inFlight
      expect(isRedisseError(err), String(err)).toBe(true)
      expect(err).toMatchObject({ code: 'publish-failed' })
    } finally {
      for (const proxy of proxies) await proxy.close()
    }
  })
})

describe('a master killed while publishing', () => {
  it('loses no publish that resolved: each is in history once the cluster is ok again', async () => {
    await using ctx = setup({ publishTimeout: 3000 })
    const channels = spreadChannels()
    const resolved: string[] = []
    const failures: unknown[] = []
    let stop = false
    let n = 0
    // 4 publishers in a loop, each over every channel in turn; a failed
    // publish waits a little, so a fast-failing cluster is not spun on.
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const ch = channels[n++ % channels.length] as string
        try {
          resolved.push(await ctx.pub.publish(ch, 'message', { n }))
        } catch (err) {
          failures.push(err)
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    })
    let atKill = 0
    let atOk = 0
    try {
      await waitFor(() => resolved.length >= 200, { what: '200 publishes before the kill' })
      // killMaster returns once the replica took over and the cluster is ok again.
      const victim = partitionKeys(ctx.prefix, channels[0] as string).seq
      const killing = redisCluster.killMaster(victim)
      atKill = resolved.length
      await killing
      atOk = resolved.length
      await waitFor(() => resolved.length >= atOk + 200, {
        timeout: 10_000,
        what: '200 publishes after the failover',
      })
    } finally {
      stop = true
      await Promise.all(loops)
    }
    const codes = new Map<string, number>()
    for (const err of failures) {
      expect(isRedisseError(err)).toBe(true)
      const code = (err as { code: string }).code
      expect(['publish-failed', 'publish-timeout', 'broker-unavailable']).toContain(code)
      // e.g. publish-failed (Error: Too many Cluster redirections. Last error: …CLUSTERDOWN…)
      const cause = String((err as Error).cause).replace(
        /^.*Last error: (?:\w*Error: )?(\S+).*$/,
        '$1',
      )
      codes.set(`${code} (${cause})`, (codes.get(`${code} (${cause})`) ?? 0) + 1)
    }
    const missing: string[] = []
    let held = 0
    for (const ch of channels) {
      const history = await historyOf(ctx.prefix, ch)
      held += history.length
      const ids = new Set(history.map((e) => `${e.id}@${ch}`))
      for (const id of resolved.filter((r) => r.endsWith(`@${ch}`))) {
        if (!ids.has(id)) missing.push(id)
      }
    }
    console.info(
      `failover: ${resolved.length} resolved (${atKill} before the kill, ${atOk - atKill} until the cluster was ok), ${failures.length} failed ${JSON.stringify(Object.fromEntries(codes))}, ${missing.length} resolved but missing, ${held} events in history`,
    )
    expect(missing).toEqual([])
  }, 60_000)
})
