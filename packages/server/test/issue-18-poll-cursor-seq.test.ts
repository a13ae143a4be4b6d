import { cleanupAfterEach, openSse, startRedis, uniquePrefix, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { createLogger, createRedisBroker, createServer } from '../src/index'
import { type BrokerGates, type Gate, gate, withGatedPartition, withGates } from './brokerGates'
import { channelOfPartition } from './channelOfPartition'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'
import { expectEachOnce, pollRecorder } from './pollRecorder'
import { serveOnBroker } from './serveOnBroker'

// A stream that resumes (every poll does) started with nothing counted as
// sent (`lastSeq` 0), not at its cursor: a live event at or before the
// cursor that reached it before its replay's first page (its node's
// subscriber behind the log, while the client got the event from another
// node) was merged into that page and written again.

const cleanup = cleanupAfterEach()

/**
 * The lagging bus lets go of event 2, which the client already has, while
 * the recorder's next poll reads history; then `end` is published, and the
 * polls and the SSE stream must each hold every event once.
 */
async function lateDuringReplay(o: {
  gates: BrokerGates
  bus: Gate
  recorder: ReturnType<typeof pollRecorder>
  sse: Awaited<ReturnType<typeof openSse>>
  end: () => Promise<unknown>
}): Promise<void> {
  const read = gate()
  o.gates.read = read
  const next = o.recorder.poll()
  await read.entered
  o.bus.open()
  await o.sse.waitForEvents(2)
  read.open()
  await o.end()
  await next
  await waitFor(() => o.sse.events.some((e) => e.event === 'end'), { what: 'the marker on SSE' })
  await expectEachOnce({ recorder: o.recorder, sse: o.sse, counts: [1, 2], had: [1] })
}

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
  await lateDuringReplay({
    gates,
    bus,
    recorder,
    sse,
    end: () => b.pub.publish('news', 'end', null),
  })
}, 30_000)

const PARTITIONS = 4
const channelIn = (partition: number) => channelOfPartition(partition, PARTITIONS)

it('a poll over two partitions gets no event at or before its cursor in the partition whose bus lags', async () => {
  const A = channelIn(0)
  const B = channelIn(1)
  const { broker, gates } = withGatedPartition(createPartitionedEmbeddedBroker(PARTITIONS), 0)
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
  await lateDuringReplay({ gates, bus, recorder, sse, end: () => publish(B, 'end', null) })
})
