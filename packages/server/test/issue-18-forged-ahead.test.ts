import { createKeys, parseEventId } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createServer } from '../src/index'
import { type Recorder, recordSse } from './failoverStreams'

// Issue 18: one well-formed envelope PUBLISHed on the bus by a hostile or
// broken peer, with a sequence far past the log's head (it never went
// through the publish script and is in no history), raised the mark the
// node holds the log against. The next real events then passed for a log
// that went backwards: the node replaced the epoch and reset every stream
// of the log, for one message.

const cleanup = cleanupAfterEach()

const FAR_AHEAD = 1_000_000

async function setUp() {
  const prefix = uniquePrefix('forged')
  const keys = createKeys(prefix)
  const peer = new Redis(inject('redisUrl'))
  cleanup.push(() => peer.disconnect())
  const server = createServer({ logger: 'silent', redis: inject('redisUrl'), prefix, public: true })
  cleanup.push(() => server.close())
  const { url } = await server.listen(0, '127.0.0.1')
  const pub = createPublisher({ redis: inject('redisUrl'), prefix })
  cleanup.push(() => pub.close())
  const streams = [
    await recordSse(url, 'news'),
    await recordSse(url, 'news'),
    await recordSse(url, 'other'),
  ]
  cleanup.push(() => {
    for (const s of streams) s.close()
  })
  /** Publishes the SDK's `end` marker on both channels and waits for it on every stream. */
  const endAll = async () => {
    await pub.publish('news', 'end', null)
    await pub.publish('other', 'end', null)
    await waitFor(() => streams.every((s) => s.ended), { what: 'the end marker on every stream' })
    for (const s of streams) s.close()
  }
  return { keys, peer, server, pub, streams, endAll }
}

const summary = (streams: Recorder[]) =>
  streams.map((s) => ({ resets: s.resets, runs: s.log.runs }))

describe('issue 18: a forged envelope far ahead of the log on the bus', () => {
  it('resets no stream: it is dropped and counted, and every real event after it arrives', async () => {
    const { keys, peer, server, pub, streams, endAll } = await setUp()
    let last = ''
    for (let n = 1; n <= 3; n++) last = await pub.publish('news', 'count', n)
    await pub.publish('other', 'count', 1)
    const epoch = parseEventId(last)?.cursor.epoch ?? ''
    const before = server.stats().dropped.envelopes
    await peer.publish(
      keys.pubsub('news'),
      `redisse/1\n${epoch}-${FAR_AHEAD}\nnews\ncount\n${Date.now()}\n999`,
    )
    for (let n = 4; n <= 6; n++) await pub.publish('news', 'count', n)
    await pub.publish('other', 'count', 2)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4, 5, 6]] },
      { resets: 0, runs: [[1, 2, 3, 4, 5, 6]] },
      { resets: 0, runs: [[1, 2]] },
    ])
    expect(server.stats().dropped.envelopes - before).toBe(1)
    // The log keeps its epoch: no node took it for one that went backwards.
    expect(await peer.get(keys.epoch)).toBe(epoch)
  })

  it('holds the real events that follow it while it is checked, and delivers them in order', async () => {
    const { keys, peer, pub, streams, endAll } = await setUp()
    const first = await pub.publish('news', 'count', 1)
    const epoch = parseEventId(first)?.cursor.epoch ?? ''
    // Several in a row, each far past the last, between real events.
    for (let i = 1; i <= 3; i++) {
      await peer.publish(
        keys.pubsub(i === 2 ? 'other' : 'news'),
        `redisse/1\n${epoch}-${FAR_AHEAD * i}\n${i === 2 ? 'other' : 'news'}\ncount\n${Date.now()}\n999`,
      )
      await pub.publish('news', 'count', i + 1)
    }
    await pub.publish('other', 'count', 1)
    await endAll()

    expect(summary(streams), streams.map((s) => s.ids.join(' ')).join('\n')).toEqual([
      { resets: 0, runs: [[1, 2, 3, 4]] },
      { resets: 0, runs: [[1, 2, 3, 4]] },
      { resets: 0, runs: [[1]] },
    ])
  })

  it('still delivers a real event far past the last one heard (channels heard nowhere took the sequences between)', async () => {
    const { pub, streams, endAll } = await setUp()
    await pub.publish('news', 'count', 1)
    await Promise.all(Array.from({ length: 1500 }, (_, n) => pub.publish('unheard', 'count', n)))
    await pub.publish('news', 'count', 2)
    await pub.publish('other', 'count', 1)
    await endAll()

    expect(summary(streams)).toEqual([
      { resets: 0, runs: [[1, 2]] },
      { resets: 0, runs: [[1, 2]] },
      { resets: 0, runs: [[1]] },
    ])
  })
})
