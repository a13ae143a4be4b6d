import { WsCloseCodes } from '@redisse/protocol'
import { openWs, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { startServer } from './harness'

/**
 * Issue 15, hardening: client-to-server WebSocket messages are handed to
 * `push.onMessage` at most `websocket.maxMessagesPerSecond` per second
 * (bursts up to the same number); a client sending faster is closed with
 * 1008 and nothing more reaches the app.
 */
it('closes with 1008 a client sending over websocket.maxMessagesPerSecond, after handing the allowed burst', async () => {
  const received: string[] = []
  await using srv = await startServer('embedded', {
    public: true,
    websocket: { maxMessagesPerSecond: 10 },
    push: { onMessage: (_conn, data) => void received.push(data) },
  })
  const ws = await openWs(`${srv.url}/?channel=a`)
  await ws.waitForFrames(1)
  for (let i = 0; i < 200; i++) ws.send(`m${i}`)
  expect(await ws.closed).toEqual({
    code: WsCloseCodes.policyViolation,
    reason: 'too many messages: at most 10 per second',
  })
  expect(received).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`))
  expect(srv.server.stats().events.messages).toBe(10)
  await waitFor(() => srv.server.stats().connections === 0, { what: 'closed' })
})

it('hands every message of a client that stays under the rate', async () => {
  const received: string[] = []
  await using srv = await startServer('embedded', {
    public: true,
    websocket: { maxMessagesPerSecond: 20 },
    push: {
      onMessage: (conn, data) => {
        received.push(data)
        if (data === 'last') conn.write('done', received.length)
      },
    },
  })
  const ws = await openWs(`${srv.url}/?channel=a`)
  await ws.waitForFrames(1)
  // 30 messages, more than one burst, at 20 per second at most.
  for (let i = 0; i < 29; i++) {
    ws.send(`m${i}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  ws.send('last')
  const frames = await ws.waitForFrames(1, 5000, (f) => f.type === 'done')
  expect(frames[0]?.data).toBe(30)
  expect(ws.isClosed).toBe(false)
  ws.close()
})
