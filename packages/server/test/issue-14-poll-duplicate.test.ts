import { cleanupAfterEach, openSse, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { gate } from './brokerGates'
import { expectEachOnce, pollRecorder } from './pollRecorder'
import { serveGatedOnOwnRedis } from './serveOnBroker'

// Issue 14, seen rarely on CI: after a bus loss, one event came twice on a
// long-poll client (never on SSE or WebSocket, whose connection outlives the
// loss). A poll is a new connection per request, resuming from its cursor:
// the node's recovery after the bus came back wrote the events it read from
// history to every held stream, including a poll still on its way to its
// own replay (here: waiting for the SUBSCRIBE of a channel the node did not
// hear yet). That poll had not sent anything, so its cursor, newer than
// where the recovery read from, stopped nothing: its answer repeated events
// the previous answer already carried.

const cleanup = cleanupAfterEach()

it('a poll that joins while the node recovers from a bus loss gets each event once (SSE alike)', async () => {
  const { server, url, pub, admin, gates } = await serveGatedOnOwnRedis('polldup', cleanup)

  const sse = await openSse(`${url}/?channel=news`)
  cleanup.push(() => sse.close())
  await sse.waitForComment('ok')
  const cursor = await pub.publish('news', 'count', 1)
  await sse.waitForEvents(1)

  // The poll client hears `news` and a channel of its own (`fresh`), which
  // no stream keeps subscribed between its polls.
  const recorder = pollRecorder(url, ['news', 'fresh'], cursor)
  const { poll } = recorder

  // The bus is lost; the node hears it back only when the test says.
  gates.ready = gate()
  const back = gates.ready
  const reconnects = server.stats().broker.reconnects
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await waitFor(() => server.stats().broker.reconnects > reconnects, { what: 'bus lost' })
  await pub.publish('news', 'count', 2)
  await pub.publish('news', 'count', 3)
  await back.entered

  // Meanwhile a poll replays 2 and 3 from history: the client's cursor is now past them.
  const first = await poll()
  expect(first.events.map((e) => e.data)).toEqual([2, 3])

  // The bus is back: its resubscription of `news` is slow to answer.
  const resubscribed = gate()
  gates.subscribe.set('news', resubscribed)
  back.open()
  await resubscribed.entered

  // The next poll joins now, held for the recovery, and waits for `fresh` to be subscribed.
  const fresh = gate()
  gates.subscribe.set('fresh', fresh)
  const second = poll()
  await fresh.entered

  // The recovery reads history from where the bus was lost (after 1); the
  // poll's SUBSCRIBE answers right after that page was written.
  gates.afterRead = fresh.open
  resubscribed.open()
  await fresh.opened
  await pub.publish('news', 'end', null)

  await second
  await waitFor(() => sse.events.some((e) => e.event === 'end'), { what: 'the marker on SSE' })
  await expectEachOnce({ recorder, sse, counts: [1, 2, 3], had: [1] })
}, 30_000)
