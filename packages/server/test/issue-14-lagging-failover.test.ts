import { createPublisher, type Publisher } from '@redisse/publisher'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createRedisBroker } from '../src/broker/createRedisBroker'
import { createLogger } from '../src/createLogger'
import { createServer, type RedisseServer } from '../src/index'
import { auditChannel } from './chaosClient'
import { type FailoverRig, publishAcked, startFailoverRig } from './failoverRig'
import { type Recorder, recordPoll, recordSse, recordWs } from './failoverStreams'

// Issue 14, section 2: the master dies while its replica lags; Sentinel
// promotes the replica, whose sequence is behind what streams already saw.
// Post-failover events reused those sequences and every stream dropped them
// as duplicates, with no reset.

const cleanup = cleanupAfterEach()

interface Scenario {
  rig: FailoverRig
  server: RedisseServer
  pub: Publisher
  url: string
  streams: Recorder[]
}

async function setUp(): Promise<Scenario> {
  const rig = await startFailoverRig()
  cleanup.push(() => rig.stop())
  const prefix = uniquePrefix('failover')
  const server = createServer({
    logger: 'silent',
    redis: rig.redis,
    prefix,
    public: true,
  })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: rig.redis, prefix })
  cleanup.push(() => pub.close())
  await pub.publish('news', 'count', 0)
  const streams = [
    await recordSse(url, 'news'),
    await recordSse(url, 'news'),
    await recordWs(url, 'news'),
    await recordWs(url, 'news'),
    await recordPoll(url, 'news'),
    await recordPoll(url, 'news'),
  ]
  cleanup.push(() => {
    for (const s of streams) s.close()
  })
  return { rig, server, pub, url, streams }
}

const newest = (rec: Recorder) => Math.max(0, ...rec.log.runs.flat())

/** Lost, duplicated and post-failover counters missing, per stream. */
function audit(streams: Recorder[], published: number, postFailover: number[]) {
  return streams.map((rec) => {
    const { lost, duplicates, lostCounters } = auditChannel(rec.log, published)
    const got = new Set(rec.log.runs.flat())
    return {
      name: rec.name,
      lost,
      duplicates,
      lostCounters,
      missedAfterFailover: postFailover.filter((c) => !got.has(c)).length,
      stranded: !rec.ended,
      resets: rec.resets,
    }
  })
}

describe('issue 14: a Sentinel failover', () => {
  it('to a lagging replica resets every stream and then delivers every new event (SSE, WebSocket, poll)', async () => {
    const { rig, pub, url, streams } = await setUp()
    for (let n = 1; n <= 20; n++) await pub.publish('news', 'count', n)
    await rig.inSync()
    // From here on the master acknowledges alone: the replica hears nothing.
    rig.link.freeze()
    let before = ''
    for (let n = 21; n <= 40; n++) before = await pub.publish('news', 'count', n)
    await waitFor(() => streams.every((s) => newest(s) === 40), { what: 'events 1-40 live' })

    await rig.failover()
    const post: number[] = []
    for (let n = 41; n <= 70; n++) {
      await publishAcked(pub, 'news', n)
      post.push(n)
    }
    await pub.publish('news', 'end', null)
    await waitFor(() => streams.every((s) => s.ended), {
      timeout: 10_000,
      what: 'the end marker on every stream',
    }).catch(() => {})
    for (const s of streams) s.close()

    // Events 21-40 are gone from the log, and cursors up to 40 name places
    // in a log that no longer exists: each stream is told, then gets every
    // post-failover event (polls too, which reconnect meanwhile).
    const report = audit(streams, 70, post)
    expect(report).toEqual(
      streams.map((s) => ({
        name: s.name,
        lost: 0,
        duplicates: 0,
        lostCounters: [],
        missedAfterFailover: 0,
        stranded: false,
        resets: expect.any(Number),
      })),
    )
    for (const row of report) expect(row.resets, row.name).toBeGreaterThanOrEqual(1)

    // A client coming back with a cursor of the lost log is reset, never
    // resumed from a place the new log reused.
    const late = await recordSse(url, 'news', before)
    await pub.publish('news', 'end', null)
    await waitFor(() => late.ended, { what: 'the marker on the resumed stream' })
    late.close()
    expect(late.resets, late.ids.join(' ')).toBe(1)
    expect(late.ids[0]).toMatch(/^redisse:reset/)
  }, 30_000)

  it('to an in-sync replica needs no reset and loses nothing', async () => {
    const { rig, pub, url, streams } = await setUp()
    let before = ''
    for (let n = 1; n <= 40; n++) before = await pub.publish('news', 'count', n)
    await rig.inSync()
    await waitFor(() => streams.every((s) => newest(s) === 40), { what: 'events 1-40 live' })

    await rig.failover()
    const post: number[] = []
    for (let n = 41; n <= 70; n++) {
      await publishAcked(pub, 'news', n)
      post.push(n)
    }
    await pub.publish('news', 'end', null)
    await waitFor(() => streams.every((s) => s.ended), {
      timeout: 10_000,
      what: 'the end marker on every stream',
    }).catch(() => {})
    for (const s of streams) s.close()

    expect(audit(streams, 70, post)).toEqual(
      streams.map((s) => ({
        name: s.name,
        lost: 0,
        duplicates: 0,
        lostCounters: [],
        missedAfterFailover: 0,
        stranded: false,
        resets: 0,
      })),
    )

    // A cursor of before the failover is still a place in the log.
    const late = await recordSse(url, 'news', before)
    await pub.publish('news', 'end', null)
    await waitFor(() => late.ended, { what: 'the marker on the resumed stream' })
    late.close()
    expect(late.resets).toBe(0)
    expect(late.log.runs.flat()).toEqual(post)
  }, 30_000)
})

describe('issue 14: replacing the epoch of a log that went backwards', () => {
  it('is guarded by the old epoch, so nodes agree on one, and refuses keys holding garbage', async () => {
    const prefix = uniquePrefix('epoch')
    const broker = createRedisBroker({
      redis: inject('redisUrl'),
      prefix,
      logger: createLogger({ level: 'silent' }),
      probe: false,
    })
    cleanup.push(() => broker.close())
    const redis = new Redis(inject('redisUrl'))
    cleanup.push(() => redis.disconnect())
    await redis.mset(`${prefix}epoch`, 'old', `${prefix}seq`, '7')
    expect(await broker.replaceEpoch?.('old', 'first')).toEqual({ epoch: 'first', seq: 7 })
    // A second node that saw the same regression adopts the first one's epoch.
    expect(await broker.replaceEpoch?.('old', 'second')).toEqual({ epoch: 'first', seq: 7 })
    await redis.set(`${prefix}epoch`, 'bad-epoch\r\n')
    await expect(broker.replaceEpoch?.('x', 'y')).rejects.toThrow(/epoch key holds/)
    await redis.mset(`${prefix}epoch`, 'good', `${prefix}seq`, 'NaN')
    await expect(broker.replaceEpoch?.('x', 'y')).rejects.toThrow(/no integer/)
  })
})
