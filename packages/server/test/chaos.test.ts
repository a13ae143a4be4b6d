import { createPublisher, type Publisher } from '@redisse/publisher'
import { freePort, type RedisProcess, startRedis } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import type { ChaosClient } from './chaosClient'
import {
  auditClients,
  caughtUp,
  chaosClients,
  kill,
  publishAll,
  recoveredOn,
  startDropping,
  startNode,
  watchStranded,
} from './chaosRig'

// The delivery promise under real faults: two server nodes as real processes
// on one Redis, hundreds of reconnecting clients, a steady publisher, and
// meanwhile Redis killed and restarted, a node killed and restarted, Redis
// stalled (SIGSTOP) with resumes arriving 300 ms into the stall, and client
// sockets cut at random. Every client must end with every event of its
// channels exactly once and in order (a `redisse:reset` would excuse a gap;
// with history this large there should be none), and no stream may stay
// open and silent while its channels publish (stranded).
// Resumes that arrive once Redis is stalled, and how long it stays stalled:
// longer than the canary (300 + 600 ms) plus ioredis' disconnectTimeout
// (2 s), so the nodes replace their connections with those reads in flight.
const STALL_RESUMES = 50
const STALL_FOR = 3500
const CLIENTS = 200
const CHANNELS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']
const RATE_PER_CHANNEL = 20 // events/s
const PUBLISH_FOR = 13_000 // ms

it.each([
  { persist: true, what: 'a Redis crash' },
  { persist: false, what: 'a Redis crash that loses its data' },
])(
  'loses and repeats nothing across $what, a node crash and random socket drops',
  async ({ persist }) => {
    let redis: RedisProcess | undefined
    let pub: Publisher | undefined
    const clients: ChaosClient[] = []
    try {
      redis = await startRedis({ persist })
      const [portA, portB] = [await freePort(), await freePort()]
      const a = await startNode({ REDIS_URL: redis.url }, portA)
      let b = await startNode({ REDIS_URL: redis.url }, portB)
      const nodes = [a.url, b.url]
      clients.push(...chaosClients(nodes, CHANNELS, CLIENTS))
      await Promise.all(clients.map((c) => c.ready))

      pub = createPublisher({ redis: redis.url, publishTimeout: 10_000 })
      const {
        published,
        lastPublishAt,
        started,
        done: publishing,
        at,
      } = publishAll(pub, CHANNELS, PUBLISH_FOR, RATE_PER_CHANNEL)
      const stranded = watchStranded(clients, lastPublishAt, started)
      const stopDropping = await startDropping(clients, 5)

      let recovered = 0
      try {
        await at(2000)
        await redis.stop({ hard: true })
        await at(3000)
        await redis.restart()
        await at(5500)
        recovered = (await recoveredOn(a)) + (await recoveredOn(b))
        await kill(b)
        await at(7000)
        b = await startNode({ REDIS_URL: redis.url }, portB)
        await at(8000)
        redis.pause()
        await at(8300)
        // Their replay reads reach a Redis that does not answer.
        for (let i = 0; i < STALL_RESUMES; i++) clients[(i * 7) % CLIENTS]?.drop()
        await at(8000 + STALL_FOR)
        redis.resume()
        await publishing
      } finally {
        stopDropping()
        redis.resume()
      }

      // A stranded stream never catches up: the monitor counts it meanwhile.
      const done = await caughtUp(clients, published)
      stranded.stop()
      await new Promise((r) => setTimeout(r, 300))
      if (stranded.lines.length > 0)
        console.log(`stranded: ${stranded.lines.slice(0, 10).join('; ')}`)
      const figures = { ...auditClients(clients, published), recoveredAfterRedisRestart: recovered }
      console.log(
        `chaos figures (${persist ? 'persistent' : 'empty'} restart): ${JSON.stringify(figures)}`,
      )
      // A sanity floor only: a loaded machine publishes slower, which is no failure.
      expect(figures.events).toBeGreaterThan(CHANNELS.length * 50)
      expect(figures.reconnects).toBeGreaterThan(CLIENTS / 2)
      expect(figures.replayedOnResume).toBeGreaterThan(0)
      expect({
        duplicates: figures.duplicates,
        outOfOrder: figures.outOfOrder,
        lost: figures.lost,
        stranded: figures.stranded,
        caughtUp: done,
      }).toEqual({ duplicates: 0, outOfOrder: 0, lost: 0, stranded: 0, caughtUp: true })
      // With its data kept, Redis history covers every gap; without it, every
      // stream must be told (epoch-changed) rather than skip silently.
      if (persist) expect(figures.resets).toBe(0)
      else expect(clients.every((c) => c.resets > 0)).toBe(true)
      await kill(a)
      await kill(b)
    } finally {
      for (const client of clients) client.close()
      await pub?.close()
      await redis?.stop()
    }
  },
  90_000,
)
