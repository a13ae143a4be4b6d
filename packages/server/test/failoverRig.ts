import type { Publisher } from '@redisse/publisher'
import {
  type RedisProcess,
  type SentinelProcess,
  startRedis,
  startSentinel,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'

/** A master, its replica (fed through a TCP proxy) and a Sentinel watching them. */
export interface FailoverRig {
  /** ioredis options reaching the master through Sentinel. */
  redis: { sentinels: Array<{ host: string; port: number }>; name: string }
  master: RedisProcess
  replica: RedisProcess
  /** The replication link: frozen, the replica stops receiving writes. */
  link: TcpProxy
  sentinel: SentinelProcess
  /** Resolves once the replica acknowledged every write of the master. */
  inSync(): Promise<void>
  /** Kills the master (SIGKILL) and resolves once Sentinel promoted the replica. */
  failover(): Promise<void>
  stop(): Promise<void>
}

async function call(port: number, ...args: string[]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
  try {
    await redis.connect()
    return await redis.call(args[0] ?? 'PING', ...args.slice(1))
  } catch {
    return undefined
  } finally {
    redis.disconnect()
  }
}

/**
 * Starts the rig with short Sentinel timings, so a failover takes about a
 * second. The replica replicates through `link`, whose `freeze()` makes it
 * lag (writes acknowledged by the master only) without breaking the link.
 */
export async function startFailoverRig(): Promise<FailoverRig> {
  const master = await startRedis()
  const link = await startTcpProxy(master.port)
  const replica = await startRedis({ replicaOf: link.port })
  await waitFor(
    async () => String(await call(replica.port, 'INFO', 'replication')).includes('link_status:up'),
    { timeout: 10_000, what: 'the replica to sync' },
  )
  const sentinel = await startSentinel(master.port, { downAfter: 500, failoverTimeout: 2000 })
  await waitFor(
    async () => {
      const replicas = await call(sentinel.port, 'SENTINEL', 'REPLICAS', sentinel.name)
      return JSON.stringify(replicas).includes(`"${replica.port}"`)
    },
    { timeout: 15_000, interval: 100, what: 'Sentinel to discover the replica' },
  )
  const inSync = async () => {
    const acked = await call(master.port, 'WAIT', '1', '5000')
    if (acked !== 1) throw new Error('the replica did not acknowledge the writes within 5 s')
  }
  return {
    redis: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.name },
    master,
    replica,
    link,
    sentinel,
    inSync,
    async failover() {
      await master.stop({ hard: true })
      await waitFor(
        async () => {
          const addr = await call(
            sentinel.port,
            'SENTINEL',
            'GET-MASTER-ADDR-BY-NAME',
            sentinel.name,
          )
          if (!JSON.stringify(addr).includes(`"${replica.port}"`)) return false
          const role = await call(replica.port, 'ROLE')
          return Array.isArray(role) && role[0] === 'master'
        },
        { timeout: 20_000, interval: 50, what: 'Sentinel to promote the replica' },
      )
    },
    async stop() {
      await sentinel.stop()
      await link.close()
      await replica.stop({ hard: true })
      await master.stop({ hard: true })
    },
  }
}

/**
 * Publishes counter `n` on `channel` (type `count`) until Redis
 * acknowledges: an attempt during a failover may fail or never settle
 * (ioredis drops commands in flight on reconnect), so it is retried under
 * the same idempotency key, which appends it once per log.
 */
export async function publishAcked(pub: Publisher, channel: string, n: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        pub.publish(channel, 'count', n, { idempotencyKey: `${channel}-${n}` }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`publish of ${n} did not settle`)), 1000)
        }),
      ])
    } catch (err) {
      if (attempt > 50) throw err
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      clearTimeout(timer)
    }
  }
}
