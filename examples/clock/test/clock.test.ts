import { openSse, openWs } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { createClockServer } from '../src/createClockServer'

const TIME = /^\d\d:\d\d:\d\d$/

it('serves both pages, ticks over SSE and WebSocket from one handler, echoes WebSocket messages, and says bye on close', async () => {
  const lines: string[] = []
  const clock = await createClockServer({ port: 0, interval: 30, log: (l) => lines.push(l) })
  try {
    for (const page of ['/sse.html', '/websocket.html']) {
      const res = await fetch(clock.url + page)
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('<p id="message">')
    }
    const sse = await openSse(`${clock.url}/`)
    expect(sse.status).toBe(200)
    const ticks = await sse.waitForEvents(2)
    expect(ticks.map((e) => e.event)).toEqual(['tick', 'tick'])
    expect(JSON.parse(ticks[0]?.data ?? '')).toMatch(TIME)

    const ws = await openWs(`${clock.url}/`)
    expect(ws.status).toBe(101)
    ws.send('hello')
    const frames = await ws.waitForFrames(1, 5000, (f) => f.type === 'echo')
    expect(frames).toEqual([{ type: 'echo', data: 'echo: hello' }])
    expect((await ws.waitForFrames(1, 5000, (f) => f.type === 'tick'))[0]?.data).toMatch(TIME)

    await clock.close()
    await sse.ended
    await ws.closed
    expect(sse.events.at(-1)).toMatchObject({ event: 'bye', data: '"the clock stops"' })
    expect(ws.frames.at(-1)).toEqual({ type: 'bye', data: 'the clock stops' })
    expect(lines.filter((l) => l.startsWith('--- on_open'))).toEqual([
      expect.stringMatching(/^--- on_open sse #\d+$/),
      expect.stringMatching(/^--- on_open websocket #\d+$/),
    ])
    expect(lines).toContainEqual(expect.stringMatching(/^--- on_message #\d+ hello$/))
  } finally {
    await clock.close()
  }
})
