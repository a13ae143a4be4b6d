import { openSse, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'
import { gate, withGatedPartition } from './brokerGates'
import { channelOfPartition } from './channelOfPartition'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'

// A token's channel added live while its stream resumes on a log in
// partitions: the channel of a partition the stream did not hear yet gets a
// lane, which holds its live events until the stream's replay ends (no id
// may name some partitions and not others). The replay releases the lanes
// it started with; one added while it ran was never released, and every
// event of that channel stayed held for good.

const PARTITIONS = 4
const channelIn = (partition: number) => channelOfPartition(partition, PARTITIONS)

it('delivers a channel of a new partition added to a token while its stream resumes', async () => {
  const A = channelIn(0)
  const C = channelIn(2)
  const { broker, gates } = withGatedPartition(createPartitionedEmbeddedBroker(PARTITIONS), 0)
  const server = createServer({ logger: 'silent', tokens: true, broker })
  const { url } = await server.listen(0, '127.0.0.1')
  const subjects = server.broker.subjects
  const streams: Array<{ close(): void }> = []
  try {
    const token = await subjects.generateToken('u1')
    await subjects.addChannel('u1', A)
    const first = await openSse(`${url}/?access_token=${token}`)
    streams.push(first)
    await first.waitForComment('ok')
    await server.broker.publish({ channel: A, type: 'm', data: 'a1' })
    const [seen] = await first.waitForEvents(1)
    first.close()
    await server.broker.publish({ channel: A, type: 'm', data: 'a2' })

    // The resumed stream's replay of partition 0 waits at its history read…
    gates.read = gate()
    const reading = gates.read
    const again = await openSse(`${url}/?access_token=${token}`, {
      headers: { 'last-event-id': seen?.id ?? '' },
    })
    streams.push(again)
    await reading.entered
    // …while the token gains a channel of partition 2.
    await subjects.addChannel('u1', C)
    await waitFor(() => server.stats().channels[C] === 1, { what: `${C} added live` })
    reading.open()
    await server.broker.publish({ channel: C, type: 'm', data: 'c1' })
    await server.broker.publish({ channel: C, type: 'end', data: null })
    await waitFor(() => again.events.some((e) => e.event === 'end'), {
      timeout: 5000,
      what: `the marker on ${C}, added while the stream resumed (got ${again.events.map((e) => e.data).join(' ')})`,
    })
    expect(
      again.events.filter((e) => e.event === 'm').map((e) => JSON.parse(e.data) as unknown),
    ).toEqual(expect.arrayContaining(['a2', 'c1']))
    expect(again.events.filter((e) => e.event === 'm')).toHaveLength(2)
  } finally {
    for (const s of streams) s.close()
    await server.close()
  }
})
