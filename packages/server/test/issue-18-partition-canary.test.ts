import { clusterSlot, type Envelope, partitionPrefix } from '@redisse/protocol'
import {
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Broker, BrokerState } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger } from '../src/createLogger'
import { channelOfPartition } from './channelOfPartition'
import { clusterThroughProxy } from './clusterThroughProxy'
import { startShardedProxy } from './startShardedProxy'

const P = 16
const PAGE = { maxEvents: 100, maxBytes: 1 << 20 }

const channelOf = (partition: number) => channelOfPartition(partition, P)

let cluster: RedisClusterProcess
const prefix = uniquePrefix('pcanary')
const slotKey = (p: number) => clusterSlot(`${partitionPrefix(prefix, p, P)}seq`)

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerMaster: 0 })
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
})

/** The partitions served by the master of partition 0, and a broker reaching it through the proxy. */
async function startRig() {
  const port = (await cluster.masterOf(slotKey(0))).port
  const same: number[] = []
  for (let p = 0; p < P; p++) if ((await cluster.masterOf(slotKey(p))).port === port) same.push(p)
  const proxy = await startShardedProxy(port)
  const given = clusterThroughProxy(cluster, port, proxy.port)
  const broker: Broker = createClusterBroker({
    cluster: given,
    partitions: P,
    prefix,
    logger: createLogger({ level: 'silent' }),
    commandTimeout: 2000,
    probe: { interval: 200, timeout: 500 },
  })
  const parts = broker.partitions ?? []
  const seen: Envelope[][] = Array.from({ length: P }, () => [])
  const states: BrokerState[][] = Array.from({ length: P }, () => [])
  for (const [p, part] of parts.entries()) {
    part.onState((state) => states[p]?.push(state))
    part.onEnvelope((e) => seen[p]?.push(e))
  }
  const publish = async (p: number, data: string) => {
    const cursor = await broker.publish({ channel: channelOf(p), type: 'e', data })
    return cursor.slice(0, cursor.indexOf('@'))
  }
  /** Publishes and waits for the event on its partition. */
  const roundTrip = async (p: number, data: string) => {
    const id = await publish(p, data)
    await waitFor(() => seen[p]?.some((e) => e.id === id), { what: `${data} on partition ${p}` })
    return id
  }
  /** Waits for `p` to have gone reconnecting and be ready again. */
  const cameBack = (p: number) =>
    waitFor(() => parts[p]?.state === 'ready' && states[p]?.includes('reconnecting'), {
      timeout: 10_000,
      what: `partition ${p} to be subscribed again`,
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}: it is ${parts[p]?.state}, went ${JSON.stringify(states[p])}`)
    })
  try {
    await broker.ready()
    await broker.configureHistory({ size: 100, ttl: 60_000, rules: [] })
    for (const p of same) await parts[p]?.subscribe(channelOf(p))
    for (const p of same) await roundTrip(p, 'before the fault')
  } catch (err) {
    await broker.close()
    throw err
  }
  for (const s of states) s.length = 0
  return {
    same,
    proxy,
    parts,
    states,
    publish,
    roundTrip,
    cameBack,
    async [Symbol.asyncDispose]() {
      await broker.close()
      given.disconnect()
      await proxy.close()
    },
  }
}

it('resubscribes one partition whose sharded subscription the node dropped silently, the other partitions of its connection untouched', async () => {
  await using rig = await startRig()
  const { same, proxy, parts, states } = rig
  // The connection's first partition is the smallest of its master: the
  // deaf one is another, so a probe of the first alone would not see it.
  const deaf = same.at(-1) as number
  expect(same.length).toBeGreaterThan(1)
  expect(deaf).not.toBe(same[0])
  const head = await parts[deaf]?.head()

  // Its channel and its probe channel.
  expect(await proxy.unsubscribe(partitionPrefix(prefix, deaf, P))).toBe(2)
  const missed = await rig.publish(deaf, 'missed')
  await rig.cameBack(deaf)
  expect(states[deaf]?.slice(0, 2)).toEqual(['reconnecting', 'ready'])
  const marker = await rig.roundTrip(deaf, 'marker')
  // What the hub replays on 'ready': the missed event is in the partition's history.
  const page = await parts[deaf]?.histories({
    channels: [channelOf(deaf)],
    after: [head?.seq ?? 0],
    ...PAGE,
  })
  expect(page?.envelopes.map((e) => e.id)).toEqual([missed, marker])
  // The connection lived on: its other partitions never stopped.
  for (const p of same) if (p !== deaf) expect(states[p], `partition ${p}`).toEqual([])
  expect(proxy.subscribers).toBe(1)
}, 30_000)

it('replaces a live subscriber connection on which no partition hears its probe any more', async () => {
  await using rig = await startRig()
  const { same, proxy, states } = rig
  expect(await proxy.unsubscribe(prefix)).toBe(2 * same.length)
  for (const p of same) await rig.cameBack(p)
  for (const p of same)
    expect(states[p]?.slice(0, 2), `partition ${p}`).toEqual(['reconnecting', 'ready'])
  // A new connection: the old one, subscribed to nothing, is no use.
  expect(proxy.subscribers).toBe(2)
  for (const p of same) await rig.roundTrip(p, `marker on partition ${p}`)
}, 30_000)
