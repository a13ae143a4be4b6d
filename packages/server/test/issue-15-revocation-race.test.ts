import type { PollResponse } from '@redisse/protocol'
import { openSse, openWs } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import type { PushConnection } from '../src/index'
import { BROKERS, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
/** Attempts per broker and transport: 300 per broker over the three transports. */
const ATTEMPTS = 100
const CONCURRENCY = 10

/**
 * Issue 15, item 5: a channel removed while a connection of its subject is
 * being admitted (token read, not yet attached) must not be heard. Half of
 * the removals are injected at the worst moment (acknowledged right after
 * the server read the token's grant, before the stream attaches); the other
 * half race the connect freely. After both the removal is acknowledged and
 * the stream is open, a marker is published on the removed channel, then one
 * on a kept channel: the stream must get the kept marker and never the
 * removed one.
 */
describe.each(BROKERS)('a channel removal racing a connect, on the %s broker', (kind) => {
  it.each(TRANSPORTS)(
    'is never lost over %s: no stream hears the removed channel',
    async (transport) => {
      const opened = new Map<string, () => void>()
      await using srv = await startServer(kind, {
        tokens: true,
        limits: { connectionsPerSubject: 5 },
        push: {
          onOpen(conn: PushConnection) {
            if (conn.subject !== undefined) opened.get(conn.subject)?.()
          },
        },
      })
      const { broker } = srv.server
      const subjects = broker.subjects
      // Removals to run inside the token lookup, by token.
      const injected = new Map<string, () => Promise<void>>()
      const resolveToken = broker.resolveToken.bind(broker)
      broker.resolveToken = async (token) => {
        const grant = await resolveToken(token)
        const remove = injected.get(token)
        if (remove) {
          injected.delete(token)
          await remove()
        }
        return grant
      }
      const cursor = (await srv.publish('start', 'm', 0)).split('@')[0] ?? ''

      const attempt = async (i: number): Promise<{ keep: boolean; gone: boolean }> => {
        const subject = `${transport}-${i}`
        const keep = `keep:${subject}`
        const gone = `gone:${subject}`
        const token = await subjects.generateToken(subject)
        await subjects.addChannel(subject, keep)
        await subjects.addChannel(subject, gone)
        const isOpen = new Promise<void>((resolve) => opened.set(subject, resolve))
        let removed: Promise<unknown>
        if (i % 2 === 0) {
          removed = new Promise<void>((resolve) =>
            injected.set(token, async () => {
              await subjects.removeChannel(subject, gone)
              resolve()
            }),
          )
        } else {
          removed = new Promise((r) => setTimeout(r, i % 3)).then(() =>
            subjects.removeChannel(subject, gone),
          )
        }
        const path = `/?access_token=${token}`
        const markers = async () => {
          await Promise.all([removed, isOpen])
          await srv.publish(gone, 'marker', 'gone')
          await srv.publish(keep, 'marker', 'keep')
        }
        if (transport === 'poll') {
          const answer = fetch(
            `${srv.url}/poll?access_token=${token}&lastEventId=${encodeURIComponent(cursor)}`,
          ).then((res) => res.json() as Promise<PollResponse>)
          await markers()
          let events = (await answer).events
          // The kept marker may come in the next answer when the first closed on the removed one.
          if (!events.some((e) => e.channel === keep)) {
            const next = await fetch(
              `${srv.url}/poll?access_token=${token}&lastEventId=${encodeURIComponent(cursor)}`,
            ).then((res) => res.json() as Promise<PollResponse>)
            events = [...events, ...next.events]
          }
          return {
            keep: events.some((e) => e.channel === keep),
            gone: events.some((e) => e.channel === gone),
          }
        }
        if (transport === 'sse') {
          const stream = await openSse(srv.url + path)
          await markers()
          await stream.waitForEvents(1)
          stream.close()
          return {
            keep: stream.events.some((e) => e.data === '"keep"'),
            gone: stream.events.some((e) => e.data === '"gone"'),
          }
        }
        const ws = await openWs(srv.url + path)
        await markers()
        const frames = await ws.waitForFrames(1, 5000, (f) => f.type === 'marker')
        ws.close()
        return {
          keep: frames.some((f) => f.channel === keep),
          gone: frames.some((f) => f.channel === gone),
        }
      }

      const results: Array<{ keep: boolean; gone: boolean }> = []
      for (let start = 0; start < ATTEMPTS; start += CONCURRENCY) {
        const batch = Array.from({ length: CONCURRENCY }, (_, k) => attempt(start + k))
        results.push(...(await Promise.all(batch)))
      }
      expect(results.filter((r) => r.gone).length).toBe(0)
      expect(results.filter((r) => r.keep).length).toBe(ATTEMPTS)
    },
  )
})
