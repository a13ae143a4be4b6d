import { waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { startServer } from './harness'
import { fill, MATRIX, resume, seqOf } from './resumeAny'

describe.each(MATRIX)(
  'issue 15 item 9: a channel replays nothing from before its grant, on the %s broker over %s',
  (kind, transport) => {
    it('replays none of the events published before a channel was granted, from a forged <epoch>-0 cursor', async () => {
      await using srv = await startServer(kind, { tokens: true })
      const subjects = srv.server.broker.subjects
      await subjects.addChannel('u1', 'open')
      const first = await srv.publish('open', 'm', 'open-after-grant')
      await srv.publish('secret', 'm', 'secret-before-grant-1')
      await srv.publish('secret', 'm', 'secret-before-grant-2')
      await subjects.addChannel('u1', 'secret')
      // Adding it again keeps the first grant.
      await subjects.addChannel('u1', 'secret')
      await srv.publish('secret', 'm', 'secret-after-grant')
      const token = await subjects.generateToken('u1')
      const epoch = first.split('@')[0]?.split('-').slice(0, -1).join('-')
      const { events } = await resume(
        srv,
        transport,
        `/?access_token=${token}`,
        `${epoch}-0`,
        'live',
        () => srv.publish('secret', 'live', 'marker'),
      )
      expect(events.map((e) => [e.type, JSON.parse(e.data)])).toEqual([
        ['m', 'open-after-grant'],
        ['m', 'secret-after-grant'],
        ['live', 'marker'],
      ])
    })

    it('a channel removed and granted again replays only from its new grant', async () => {
      await using srv = await startServer(kind, { tokens: true })
      const subjects = srv.server.broker.subjects
      await subjects.addChannel('u2', 'keep')
      const first = await srv.publish('room', 'm', 'before-any-grant')
      await subjects.addChannel('u2', 'room')
      await srv.publish('room', 'm', 'first-grant')
      await subjects.removeChannel('u2', 'room')
      await srv.publish('room', 'm', 'while-removed')
      await subjects.addChannel('u2', 'room')
      await srv.publish('room', 'm', 'second-grant')
      const token = await subjects.generateToken('u2')
      const { events } = await resume(
        srv,
        transport,
        `/?access_token=${token}`,
        first,
        'live',
        () => srv.publish('room', 'live', 'marker'),
      )
      expect(events.map((e) => JSON.parse(e.data))).toEqual(['second-grant', 'marker'])
    })

    it('a channel added live during a long replay replays nothing from before it was added', async () => {
      await using srv = await startServer(kind, {
        tokens: true,
        history: { size: 2000, ttl: 600_000 },
      })
      const subjects = srv.server.broker.subjects
      await subjects.addChannel('u3', 'a')
      const cursor = await srv.publish('a', 'start', 0)
      await fill(srv, 'a', 1000, 16 * 1024)
      await srv.publish('b', 'm', 'b-before-grant')
      const token = await subjects.generateToken('u3')
      const { events } = await resume(
        srv,
        transport,
        `/?access_token=${token}`,
        cursor,
        'live',
        async () => {
          await subjects.addChannel('u3', 'b')
          if (transport !== 'poll') {
            await waitFor(() => srv.server.stats().channels.b === 1, { what: 'b subscribed' })
          }
          await srv.publish('b', 'm', 'b-after-grant')
          await srv.publish('b', 'live', 'marker')
        },
      )
      const ofB = events.filter((e) => e.id.endsWith('@b')).map((e) => JSON.parse(e.data))
      expect(ofB).toEqual(['b-after-grant', 'marker'])
      expect(events.filter((e) => e.type === 'm' && e.id.endsWith('@a'))).toHaveLength(1000)
      const seqs = events.map((e) => seqOf(e.id))
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
    }, 60_000)
  },
)
