import { parseEventId } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createServer } from '../src/index'
import { type Recorder, recordSse } from './failoverStreams'

// Issue 18: after a log that went backwards, the node replaces the epoch
// and sends every stream `redisse:reset`, then the new log's events. The
// events of the new log published before the replacement (the one whose
// reused sequence gave the regression away, at least) went out under their
// own ids, of the retired epoch: a stream cut after one came back with it,
// was taken for a stream of the lost log, got a second reset and the new
// log again from its beginning (events it already had).

const cleanup = cleanupAfterEach()

/**
 * A node on a real Redis with a stream of `news` that heard 1-5; `fail()`
 * puts back what a replica that lagged at 2 holds (sequences 3-5 lost),
 * as a failover to it would.
 */
async function setUp() {
  const prefix = uniquePrefix('retired')
  const redis = new Redis(inject('redisUrl'))
  cleanup.push(() => redis.disconnect())
  const server = createServer({ logger: 'silent', redis: inject('redisUrl'), prefix, public: true })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: inject('redisUrl'), prefix })
  cleanup.push(() => pub.close())
  const first = await recordSse(url, 'news')
  cleanup.push(() => first.close())
  for (let n = 1; n <= 2; n++) await pub.publish('news', 'count', n)
  const keys = await redis.keys(`${prefix}*`)
  const replica = await Promise.all(
    keys.map(async (key) => [key, await redis.dumpBuffer(key)] as const),
  )
  let lost = ''
  for (let n = 3; n <= 5; n++) lost = await pub.publish('news', 'count', n)
  await waitFor(() => first.log.runs[0]?.includes(5), { what: 'events 1-5 live' })
  const oldEpoch = parseEventId(lost)?.cursor.epoch
  return {
    url,
    pub,
    redis,
    first,
    oldEpoch,
    /** A cursor of the lost log (event 5). */
    lost,
    async fail() {
      await redis.del(...(await redis.keys(`${prefix}*`)))
      for (const [key, dump] of replica) if (dump) await redis.restore(key, 0, dump)
    },
    async epochNow() {
      return (await redis.get(`${prefix}epoch`)) ?? ''
    },
  }
}

/** Epochs of the ids a stream got, in order (resets included). */
const epochsOf = (rec: Recorder) =>
  rec.ids.map((entry) => {
    const id = entry.slice(entry.startsWith('redisse:reset:') ? 14 : entry.indexOf(':') + 1)
    return parseEventId(id)?.cursor.epoch ?? entry
  })

/** Resumes from `lastEventId`, publishes the marker, and returns what the stream got up to it. */
async function resumeUntilMarker(
  url: string,
  pub: { publish(channel: string, type: string, data: unknown): Promise<string> },
  lastEventId: string,
) {
  const again = await recordSse(url, 'news', lastEventId)
  cleanup.push(() => again.close())
  await pub.publish('news', 'end', null)
  await waitFor(() => again.ended, { what: 'the marker on the resumed stream' })
  again.close()
  return again
}

describe('issue 18: events of the new log after a log that went backwards', () => {
  it('reach a live stream under ids of the new epoch, so a stream cut after them resumes with no second reset and no duplicate', async () => {
    const { url, pub, first, oldEpoch, fail, epochNow } = await setUp()
    await fail()
    // Sequence 3 again, of the same epoch: the node sees the log went backwards.
    await pub.publish('news', 'count', 6)
    await waitFor(() => first.log.runs[1]?.includes(6), { what: 'the reset, then event 6' })
    first.close()
    const newEpoch = await epochNow()
    expect(newEpoch).not.toBe(oldEpoch)
    expect({ resets: first.resets, runs: first.log.runs }).toEqual({
      resets: 1,
      runs: [[1, 2, 3, 4, 5], [6]],
    })

    // The stream is cut and comes back with the id of event 6.
    const again = await resumeUntilMarker(url, pub, first.lastEventId ?? '')
    expect(
      { resets: again.resets, counts: again.log.runs.flat() },
      `${first.lastEventId} then ${again.ids.join(' ')}`,
    ).toEqual({ resets: 0, counts: [] })
    // After the reset, every id names a place in the new epoch.
    expect(epochsOf(first).slice(5), first.ids.join(' ')).toEqual([newEpoch, newEpoch])
  })

  it('reach a stream back with a cursor of the lost log under ids of the new epoch, after its one reset', async () => {
    const { url, pub, first, oldEpoch, lost, fail, epochNow } = await setUp()
    await fail()
    await pub.publish('news', 'count', 6)
    await pub.publish('news', 'count', 7)
    await waitFor(() => first.log.runs[1]?.includes(7), { what: 'the reset, then events 6-7' })
    first.close()
    const newEpoch = await epochNow()
    expect(newEpoch).not.toBe(oldEpoch)

    // A stream of the lost log comes back: reset, then the new log from history.
    const back = await resumeUntilMarker(url, pub, lost)
    expect({ resets: back.resets, runs: back.log.runs }, back.ids.join(' ')).toEqual({
      resets: 1,
      runs: [[], [6, 7]],
    })
    // Cut after event 6 (published before the replacement, read from history).
    const six = back.ids[1]?.slice('count:'.length) ?? ''
    const again = await resumeUntilMarker(url, pub, six)
    expect({ resets: again.resets, counts: again.log.runs.flat() }, again.ids.join(' ')).toEqual({
      resets: 0,
      counts: [7],
    })
    // Every id after the reset names a place in the new epoch (the marker included).
    expect(new Set(epochsOf(back)), back.ids.join(' ')).toEqual(new Set([newEpoch]))
  })
})
