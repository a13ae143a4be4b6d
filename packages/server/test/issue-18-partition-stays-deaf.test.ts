import { clusterSlot, partitionPrefix } from '@redisse/protocol'
import {
  openSse,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { BrokerState } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger } from '../src/createLogger'
import { createServer } from '../src/index'
import { channelOfPartition } from './channelOfPartition'
import { clusterThroughProxy } from './clusterThroughProxy'
import { startShardedProxy } from './startShardedProxy'

// A partition whose sharded messages never reach the node, whatever it
// does: a resubscribe does not cure it, so the pool must escalate (a new
// connection, then a fresh slot map and an error), say so in its figures,
// and still lose nothing once the fault is gone.
const P = 16

let cluster: RedisClusterProcess
const prefix = uniquePrefix('pdeaf')
const slotKey = (p: number) => clusterSlot(`${partitionPrefix(prefix, p, P)}seq`)

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerMaster: 0 })
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
})

it('escalates a partition that stays deaf after its resubscribe: a new connection, then an error, counted in /stats and /metrics, and its stream misses nothing once it hears again', async () => {
  const port = (await cluster.masterOf(slotKey(0))).port
  const same: number[] = []
  for (let p = 0; p < P; p++) if ((await cluster.masterOf(slotKey(p))).port === port) same.push(p)
  // Not the connection's only partition: the others still hear their
  // probes, so the connection is known to live and only this one is deaf.
  expect(same.length).toBeGreaterThan(1)
  const deaf = same.at(-1) as number
  const channel = channelOfPartition(deaf, P)

  const proxy = await startShardedProxy(port)
  const given = clusterThroughProxy(cluster, port, proxy.port)
  const lines: Array<{ level: string; msg: string } & Record<string, unknown>> = []
  const broker = createClusterBroker({
    cluster: given,
    partitions: P,
    prefix,
    logger: createLogger({ level: 'warn', write: (line) => lines.push(JSON.parse(line)) }),
    commandTimeout: 2000,
    probe: { interval: 200, timeout: 500 },
  })
  const states: BrokerState[] = []
  broker.partitions?.[deaf]?.onState((s) => states.push(s))
  const server = createServer({ logger: 'silent', public: true, stats: 'public', broker })
  try {
    const { url } = await server.listen(0, '127.0.0.1')
    await broker.ready()
    const stream = await openSse(`${url}/?channel=${channel}`)
    await stream.waitForComment('ok')
    const sent: string[] = []
    const publish = async (data: string) => {
      sent.push(data)
      await broker.publish({ channel, type: 'e', data })
    }
    await publish('before the fault')
    await stream.waitForEvents(1)
    const figures = () => server.stats().broker

    const lift = proxy.filter(partitionPrefix(prefix, deaf, P))
    await publish('while deaf, first')
    // The resubscribe did not cure it: the whole connection is replaced.
    await waitFor(() => proxy.subscribers >= 2, {
      timeout: 15_000,
      what: 'a new subscriber connection to the node',
    }).catch((err: unknown) => {
      throw new Error(
        `${String(err)}: ${proxy.subscribers} connection(s), partition went ${JSON.stringify(states)}, figures ${JSON.stringify(figures())}`,
      )
    })
    await publish('while deaf, second')
    // Still deaf on the new connection: an error, then more rounds of the same step.
    await waitFor(() => lines.some((l) => l.level === 'error') && figures().deafVerdicts >= 4, {
      timeout: 15_000,
      what: 'an error and 4 deaf verdicts',
    })
    await publish('while deaf, third')
    expect(figures().deafPartitions).toBe(1)
    // The fresh connection was not the cure either: no more churn of the others' connection.
    expect(proxy.subscribers).toBe(2)
    // At most one error line a minute per partition.
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1)
    expect(proxy.filtered).toBeGreaterThan(0)
    // Late but complete meanwhile: each round's resubscribe has the hub read them from history.
    await stream.waitForEvents(sent.length, 15_000)

    lift()
    await waitFor(() => figures().deafPartitions === 0, {
      timeout: 10_000,
      what: 'the partition to hear its probe again',
    })
    await publish('marker')
    const events = await stream.waitForEvents(sent.length, 15_000)
    expect(events.map((e) => JSON.parse(e.data))).toEqual(sent)

    const metrics = await (await fetch(`${url}/metrics`)).text()
    const verdicts = Number(/^redisse_broker_deaf_verdicts_total (\d+)$/m.exec(metrics)?.[1])
    expect(verdicts).toBeGreaterThanOrEqual(4)
    expect(metrics).toMatch(/^redisse_broker_deaf_partitions 0$/m)
    // Its log lines name the node and partition, never what was published.
    expect(lines.filter((l) => l.level === 'error')[0]).toMatchObject({ partition: deaf })
    expect(JSON.stringify(lines)).not.toContain('while deaf')
    stream.close()
  } finally {
    await server.close()
    given.disconnect()
    await proxy.close()
  }
}, 60_000)
