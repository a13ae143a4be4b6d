import { connect } from 'node:net'
import { waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { call, startServer } from './harness'

it('answers 503 with Retry-After beyond limits.connections, and serves again once one closes', async () => {
  await using srv = await startServer('embedded', {
    public: true,
    retry: 2000,
    limits: { connections: 2 },
  })
  const first = await srv.open('/?channel=a')
  await srv.open('/?channel=a')
  const refused = await call(`${srv.url}/?channel=a`)
  expect(refused.status).toBe(503)
  expect(refused.headers.get('retry-after')).toBe('2')
  expect(refused.body).toMatchObject({ error: { code: 'too-many-connections' } })
  first.close()
  await waitFor(() => srv.server.stats().connections === 1, { what: 'one stream closed' })
  expect((await srv.open('/?channel=a')).status).toBe(200)
})

it('disconnects a client that stops reading while a fast client receives everything', async () => {
  await using srv = await startServer('embedded', {
    public: true,
    limits: { bufferBytes: 64 * 1024 },
  })
  const fast = await srv.open('/?channel=flood')
  // A raw socket that sends the request and then never reads.
  const slow = connect(Number(new URL(srv.url).port), '127.0.0.1')
  slow.write('GET /?channel=flood HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
  slow.pause()
  await waitFor(() => srv.server.stats().connections === 2, { what: 'slow client connected' })
  // Publish in small bursts (well under bufferBytes) so a reader keeping up
  // never falls behind, until the kernel buffers of the non-reader are full
  // and its backlog passes the limit.
  const payload = 'x'.repeat(8000)
  let sent = 0
  while (srv.server.stats().dropped.slowClients === 0 && sent < 4000) {
    for (let i = 0; i < 4; i++) await srv.publish('flood', 'm', { i: sent++, payload })
    await new Promise((r) => setTimeout(r, 1))
  }
  expect(srv.server.stats().dropped.slowClients).toBe(1)
  const events = await fast.waitForEvents(sent, 10_000)
  expect(events.map((e) => JSON.parse(e.data).i)).toEqual([...Array(sent).keys()])
  expect(srv.server.stats().connections).toBe(1)
  slow.destroy()
})
