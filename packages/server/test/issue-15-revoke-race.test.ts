import type { PollResponse } from '@redisse/protocol'
import { openSse, openWs } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { BROKERS, startServer } from './harness'

const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
const ATTEMPTS = 20

/**
 * Issue 15, items 5 and 8 together: a token revoked while a connection
 * with it is being admitted (its grant read, the stream not yet among the
 * subject's) must end that stream all the same. The revocation is run at
 * that worst moment, inside the token lookup; then a marker is published:
 * no stream may hear it, every SSE stream ends, every WebSocket closes with
 * 4001, and the next poll gets 401.
 */
describe.each(BROKERS)(
  'a token revoked while its connect is admitted, on the %s broker',
  (kind) => {
    it.each(TRANSPORTS)(
      'is never missed over %s',
      async (transport) => {
        await using srv = await startServer(kind, { tokens: true })
        const { broker } = srv.server
        const injected = new Map<string, () => Promise<void>>()
        const resolveToken = broker.resolveToken.bind(broker)
        broker.resolveToken = async (token) => {
          const grant = await resolveToken(token)
          const revoke = injected.get(token)
          if (revoke) {
            injected.delete(token)
            await revoke()
          }
          return grant
        }
        const cursor = (await srv.publish('start', 'm', 0)).split('@')[0] ?? ''

        const attempt = async (i: number) => {
          const subject = `${transport}-${i}`
          const channel = `room:${subject}`
          const token = await broker.subjects.generateToken(subject)
          await broker.subjects.addChannel(subject, channel)
          const revoked = new Promise<void>((resolve) =>
            injected.set(token, async () => {
              expect(await broker.subjects.revokeToken(subject, token)).toBe(true)
              resolve()
            }),
          )
          if (transport === 'poll') {
            const url = `${srv.url}/poll?access_token=${token}&lastEventId=${encodeURIComponent(cursor)}`
            const first = fetch(url).then(async (res) => ({
              status: res.status,
              body: res.status === 200 ? ((await res.json()) as PollResponse) : undefined,
            }))
            await revoked
            await srv.publish(channel, 'marker', 'heard')
            const answer = await first
            const heard = answer.body?.events.some((e) => e.type === 'marker') ?? false
            const next = await fetch(url)
            await next.text()
            return { heard, ended: next.status === 401 }
          }
          if (transport === 'sse') {
            const stream = await openSse(`${srv.url}/?access_token=${token}`)
            await revoked
            await srv.publish(channel, 'marker', 'heard')
            const ended = await Promise.race([
              stream.ended.then(() => true),
              new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
            ])
            stream.close()
            return { heard: stream.events.some((e) => e.event === 'marker'), ended }
          }
          const ws = await openWs(`${srv.url}/?access_token=${token}`)
          await revoked
          await srv.publish(channel, 'marker', 'heard')
          const closed = await Promise.race([
            ws.closed,
            new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000)),
          ])
          ws.close()
          return {
            heard: ws.frames.some((f) => f.type === 'marker'),
            // Refused at the handshake (401) or closed with 4001 once open.
            ended: ws.status === 401 || closed?.code === 4001,
          }
        }

        const results = []
        for (let start = 0; start < ATTEMPTS; start += 10) {
          results.push(
            ...(await Promise.all(Array.from({ length: 10 }, (_, k) => attempt(start + k)))),
          )
        }
        expect(results.filter((r) => r.heard)).toEqual([])
        expect(results.filter((r) => !r.ended)).toEqual([])
      },
      60_000,
    )
  },
)
