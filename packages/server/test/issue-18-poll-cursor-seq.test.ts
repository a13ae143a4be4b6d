import { partitionOf } from '@redisse/protocol'
import { openSse, startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { afterEach, expect, it } from 'vitest'
import type { Broker } from '../src/broker/Broker'
import { createLogger, createRedisBroker, createServer } from '../src/index'
import { gate, withGates } from './brokerGates'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'
import { expectEachOnce, pollRecorder } from './pollRecorder'
import { serveOnBroker } from './serveOnBroker'

// A stream that resumes (every poll does) started with nothing counted as
// sent (`lastSeq` 0), not at its cursor: a live event at or before the
// cursor that reached it before its replay's first page (its node's
// subscriber behind the log, while the client got the event from another
// node) was merged into that page and written again.

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo()
})

it('a poll on a node whose bus lags gets no event at or before its cursor (SSE alike)', async () => {
  const redis = await startRedis()
  cleanup.push(() => redis.stop())
  const prefix = uniquePrefix('pollseq')
  const brokerOf = () =>
    createRedisBroker({
      redis: redis.url,
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: false,
    })
  const a = await serveOnBroker(brokerOf(), { redisUrl: redis.url, prefix, cleanup })
  const { broker, gates } = withGates(brokerOf())
  const b = await serveOnBroker(broker, { redisUrl: redis.url, prefix, cleanup })

  // Node b hears `news` (a stream of its own keeps it subscribed).
  const sse = await openSse(`${b.url}/?channel=news`)
  cleanup.push(() => sse.close())
  await sse.waitForComment('ok')
  const cursor = await a.pub.publish('news', 'count', 1)
  await sse.waitForEvents(1)

  // Node b's subscriber falls behind: it has 2 and has not delivered it yet.
  gates.bus = gate()
  const bus = gates.bus
  await a.pub.publish('news', 'count', 2)
  await bus.entered

  // The client gets 2 from node a: its cursor is now past it.
  const recorder = pollRecorder(b.url, ['news'], cursor)
  const first = await recorder.poll(a.url)
  expect(first.events.map((e) => e.data)).toEqual([2])

  // Its next poll lands on node b, whose bus delivers 2 while the poll's
  // replay reads history.
  const read = gate()
  gates.read = read
  const second = recorder.poll()
  await read.entered
  bus.open()
  await sse.waitForEvents(2)
  read.open()
  await b.pub.publish('news', 'end', null)
  await second

  await waitFor(() => sse.events.some((e) => e.event === 'end'), { what: 'the marker on SSE' })
  await expectEachOnce({ recorder, sse, counts: [1, 2], had: [1] })
}, 30_000)

const PARTITIONS = 4
const channelIn = (partition: number) => {
  for (let n = 0; ; n++) if (partitionOf(`ch${n}`, PARTITIONS) === partition) return `ch${n}`
}

it('a poll over two partitions gets no event at or before its cursor in the partition whose bus lags', async () => {
  const A = channelIn(0)
  const B = channelIn(1)
  const base = createPartitionedEmbeddedBroker(PARTITIONS)
  const inner = base.partitions as readonly Broker[]
  const { broker: gated, gates } = withGates(inner[0] as Broker)
  const broker: Broker = Object.create(base)
  Object.defineProperty(broker, 'partitions', { value: [gated, ...inner.slice(1)] })
  const server = createServer({ logger: 'silent', public: true, broker })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const publish = (channel: string, type: string, data: unknown) =>
    server.broker.publish({ channel, type, data })

  const sse = await openSse(`${url}/?channel=${A}&channel=${B}`)
  cleanup.push(() => sse.close())
  await sse.waitForComment('ok')
  await publish(A, 'count', 1)
  const [first] = await sse.waitForEvents(1)

  // Partition 0's bus falls behind: it has 2 and has not delivered it yet.
  gates.bus = gate()
  const bus = gates.bus
  await publish(A, 'count', 2)
  await bus.entered

  // A poll replays 2 from history: the client's cursor is past it in partition 0.
  const recorder = pollRecorder(url, [A, B], first?.id ?? '')
  const answer = await recorder.poll()
  expect(answer.events.map((e) => e.data)).toEqual([2])

  // The bus delivers 2 while the next poll's lane of partition 0 reads history.
  const read = gate()
  gates.read = read
  const second = recorder.poll()
  await read.entered
  bus.open()
  await sse.waitForEvents(2)
  read.open()
  await publish(B, 'end', null)
  await second

  await waitFor(() => sse.events.some((e) => e.event === 'end'), { what: 'the marker on SSE' })
  await expectEachOnce({ recorder, sse, counts: [1, 2], had: [1] })
})
