import { fetchEventSource } from '@microsoft/fetch-event-source'
import { createPublisher } from '@redisse/publisher'
import { createServer } from '@redisse/server'
import { waitFor } from '@redisse/test-utils'
import { EventSource } from 'eventsource'
import { CustomEventSource } from 'extended-eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Third-party SSE clients against a Redisse server with a short keep-alive:
 * each sees every event, and no empty `message` for the connect preamble
 * (`retry:`, `:ok`) or the keep-alive comments. `@microsoft/fetch-event-source`
 * and `extended-eventsource` dispatch a block without data as an empty
 * message, so the server sends those lines without a blank line after them.
 */

/** What a client saw: every message's data, as given to the app. */
type Opened = { messages: string[]; close(): void }

const KEY = 'third-party-key'

const g = globalThis as Record<string, unknown>
// fetch-event-source reaches for `window` and `document` (page visibility).
const stubs = { window: g.window, document: g.document }
beforeAll(() => {
  g.window ??= globalThis
  g.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} }
})
afterAll(() => {
  if (stubs.window === undefined) delete g.window
  if (stubs.document === undefined) delete g.document
})

const CLIENTS: Array<{ name: string; open(url: string): Opened }> = [
  {
    name: '@microsoft/fetch-event-source 2.0.1',
    open(url) {
      const messages: string[] = []
      const controller = new AbortController()
      void fetchEventSource(url, {
        signal: controller.signal,
        openWhenHidden: true,
        onmessage: (event) => messages.push(event.data),
      }).catch(() => {})
      return { messages, close: () => controller.abort() }
    },
  },
  {
    name: 'extended-eventsource 2.1.0',
    open(url) {
      const messages: string[] = []
      const source = new CustomEventSource(url, { disableLogger: true })
      source.onmessage = (event) => messages.push(event.data)
      return { messages, close: () => source.close() }
    },
  },
  {
    name: 'eventsource (npm)',
    open(url) {
      const messages: string[] = []
      const source = new EventSource(url)
      source.onmessage = (event) => messages.push(event.data)
      return { messages, close: () => source.close() }
    },
  },
]

describe.each(CLIENTS)('$name against a Redisse server', ({ open }) => {
  it('parses every event and sees no empty message for retry:, :ok or keep-alives', async () => {
    const server = createServer({
      channels: () => ['news'],
      keepAlive: 10,
      retry: 50,
      publishKey: KEY,
      logger: 'silent',
    })
    const address = await server.listen(0, '127.0.0.1')
    const url = `http://127.0.0.1:${address.port}/`
    const publisher = createPublisher({ url, key: KEY })
    const client = open(url)
    try {
      await waitFor(() => server.stats().connections >= 1, { what: 'the stream open' })
      // Keep-alives every 10 ms go by between the events.
      for (const n of [1, 2, 3]) {
        await publisher.publish('news', 'message', { n })
        await new Promise((r) => setTimeout(r, 60))
      }
      await publisher.publish('news', 'message', { n: 'marker' })
      await waitFor(() => client.messages.some((m) => m.includes('marker')), {
        what: `the marker (got ${JSON.stringify(client.messages)})`,
      })
      expect(client.messages.map((m) => JSON.parse(m))).toEqual([
        { n: 1 },
        { n: 2 },
        { n: 3 },
        { n: 'marker' },
      ])
    } finally {
      client.close()
      await publisher.close()
      await server.close()
    }
  })
})
