import { DEFAULT_CLUSTER_PARTITIONS as P, partitionOf, partitionPrefix } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import {
  cleanupAfterEach,
  openSse,
  type RedisClusterProcess,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { BrokerState } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger, createServer } from '../src/index'
import { gate, withGatedPartition } from './brokerGates'
import { expectEachOnce, pollRecorder } from './pollRecorder'

// The partitioned twin of issue-14-poll-duplicate: on Redis Cluster a
// stream is a lane in each partition it hears, and the partition's hub
// recovers after its sharded subscription was lost. A resuming stream's
// lane joined that hub held, but counted as replaying only once its own
// replay began: a recovery reading history in between wrote its page to
// the lane, and the poll's answer repeated events its cursor was past.

let cluster: RedisClusterProcess
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})
const cleanup = cleanupAfterEach()

/** A channel named `<tag>:<n>` in `partition`. */
const channelIn = (partition: number, tag: string) => {
  for (let n = 0; ; n++) if (partitionOf(`${tag}:${n}`, P) === partition) return `${tag}:${n}`
}

it('a poll whose lane joins while its partition recovers from a lost subscription gets each event once', async () => {
  const prefix = uniquePrefix('lanedup')
  const news = 'news'
  const partition = partitionOf(news, P)
  const fresh = channelIn(partition, 'fresh')
  const inner = createClusterBroker({
    cluster: cluster.urls.slice(0, 3),
    prefix,
    logger: createLogger({ level: 'silent' }),
    probe: false,
  })
  const { broker, gates } = withGatedPartition(inner, partition)
  const states: BrokerState[] = []
  inner.partitions?.[partition]?.onState((state) => states.push(state))

  const server = createServer({ logger: 'silent', public: true, broker })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  await waitFor(() => broker.state === 'ready', { what: 'broker ready', timeout: 10_000 })
  const pub = createPublisher({ redis: { cluster: cluster.urls.slice(0, 3) }, prefix })
  cleanup.push(() => pub.close())
  const master = await cluster.masterOf(`${partitionPrefix(prefix, partition, P)}seq`)
  const admin = new Redis(master.port, '127.0.0.1')
  cleanup.push(() => admin.disconnect())

  const sse = await openSse(`${url}/?channel=${news}`)
  cleanup.push(() => sse.close())
  await sse.waitForComment('ok')
  await pub.publish(news, 'count', 1)
  const [first] = await sse.waitForEvents(1)
  const cursor = first?.id ?? ''

  const recorder = pollRecorder(url, [news, fresh], cursor)
  const { poll } = recorder

  // The partition's sharded subscription is lost; its hub hears it back
  // only when the test says.
  gates.ready = gate()
  const back = gates.ready
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await waitFor(() => states.includes('reconnecting'), { what: 'the partition lost' })
  await pub.publish(news, 'count', 2)
  await pub.publish(news, 'count', 3)
  await back.entered

  // A poll replays 2 and 3 from history: the client's cursor is past them.
  expect((await poll()).events.map((e) => e.data)).toEqual([2, 3])

  // The partition is back: its hub's resubscription of `news` is slow.
  const resubscribed = gate()
  gates.subscribe.set(news, resubscribed)
  back.open()
  await resubscribed.entered

  // The next poll's lane joins now, held, and waits for `fresh`.
  const freshHeld = gate()
  gates.subscribe.set(fresh, freshHeld)
  const second = poll()
  await freshHeld.entered

  // The recovery reads from where the subscription was lost (after 1); the
  // lane's SUBSCRIBE answers right after that page was written.
  gates.afterRead = freshHeld.open
  resubscribed.open()
  await freshHeld.opened
  await pub.publish(news, 'end', null)

  await second
  await waitFor(() => sse.events.some((e) => e.event === 'end'), { what: 'the marker on SSE' })
  await expectEachOnce({ recorder, sse, counts: [1, 2, 3], had: [1] })
}, 40_000)
