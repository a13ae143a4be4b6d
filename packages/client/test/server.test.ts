import { createPublisher, type Publisher } from '@redisse/publisher'
import { createServer, type RedisseServer } from '@redisse/server'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { describe, expect, inject, it } from 'vitest'
import { type Client, createClient, type EventMeta } from '../src/index'
import { TRANSPORTS } from './transports'

type ChatEvents = {
  message: { user: string; text: string }
  typing: { user: string }
}

const cleanups = cleanupAfterEach()

async function startRedisse(
  prefix: string,
  port = 0,
): Promise<{ server: RedisseServer; url: string }> {
  const server = createServer({
    redis: inject('redisUrl'),
    prefix,
    tokens: true,
    public: ['pub:*'],
    logger: 'silent',
    retry: 50,
  })
  const address = await server.listen(port, '127.0.0.1')
  return { server, url: `http://127.0.0.1:${address.port}/` }
}

async function setup() {
  const prefix = uniquePrefix('client')
  const running = await startRedisse(prefix)
  const publisher: Publisher<ChatEvents> = createPublisher<ChatEvents>({
    redis: inject('redisUrl'),
    prefix,
  })
  cleanups.push(() => publisher.close())
  cleanups.push(() => running.server.close())
  // A first poll on an empty log waits for its first event (there is no
  // cursor to give yet), so the poll client would stay `connecting`.
  await publisher.publish('warm:up', 'typing', { user: 'nobody' })
  return { prefix, publisher, ...running }
}

function track(client: Client<ChatEvents>) {
  cleanups.push(() => client.close())
  const got: Array<{ type: string; data: unknown; meta: EventMeta }> = []
  client.on('message', (data, meta) => got.push({ type: 'message', data, meta }))
  client.on('typing', (data, meta) => got.push({ type: 'typing', data, meta }))
  return got
}

const opened = (client: Client) =>
  waitFor(() => client.state === 'open', { what: `client open (state ${client.state})` })

describe.each(TRANSPORTS)(
  'against a real @redisse/server over the $name transport',
  (transport) => {
    it('delivers typed events of several channels, with each channel in meta', async () => {
      const { publisher, url } = await setup()
      const user = publisher.subject('ann')
      await user.addChannel('room:1')
      await user.addChannel('user:ann')
      const token = await user.generateToken()
      const client = createClient<ChatEvents>(url, { ...transport.options, token })
      const got = track(client)
      await opened(client)
      const id1 = await publisher.publish('room:1', 'message', { user: 'bob', text: 'hi' })
      const id2 = await publisher.publish('user:ann', 'typing', { user: 'bob' })
      await waitFor(() => got.length >= 2, { what: `2 events (got ${got.length})` })
      expect(got).toEqual([
        {
          type: 'message',
          data: { user: 'bob', text: 'hi' },
          meta: { id: id1, type: 'message', channel: 'room:1' },
        },
        {
          type: 'typing',
          data: { user: 'bob' },
          meta: { id: id2, type: 'typing', channel: 'user:ann' },
        },
      ])
      // Poll answers carry the head cursor (`epoch-seq`): the same position.
      expect(client.lastEventId?.split('@')[0]).toBe(id2.split('@')[0])
    })

    it('resumes from a given lastEventId, replaying history once', async () => {
      const { publisher, url } = await setup()
      const first = await publisher.publish('pub:news', 'message', { user: 'a', text: '1' })
      await publisher.publish('pub:news', 'message', { user: 'a', text: '2' })
      await publisher.publish('pub:news', 'message', { user: 'a', text: '3' })
      const client = createClient<ChatEvents>(`${url}?channel=pub:news`, {
        ...transport.options,
        lastEventId: first,
      })
      const got = track(client)
      await waitFor(() => got.length >= 2, { what: `2 replayed events (got ${got.length})` })
      await new Promise((r) => setTimeout(r, 100))
      expect(got.map((e) => (e.data as { text: string }).text)).toEqual(['2', '3'])
    })

    it('closes with unauthorized for an unknown token', async () => {
      const { url } = await setup()
      const client = createClient<ChatEvents>(url, { ...transport.options, token: 'nope' })
      track(client)
      const reasons: unknown[] = []
      client.onState((state, info) => reasons.push([state, info.reason]))
      await waitFor(() => client.state === 'closed', { what: 'closed' })
      expect(reasons).toEqual([['closed', 'unauthorized']])
    })

    it('loses and repeats nothing when the server restarts on the same port under a live client', async () => {
      const { prefix, publisher, server, url } = await setup()
      const port = Number(new URL(url).port)
      const user = publisher.subject('kim')
      await user.addChannel('room:r')
      const token = await user.generateToken()
      const client = createClient<ChatEvents>(url, {
        ...transport.options,
        token,
        reconnect: { delay: 20, maxDelay: 100 },
      })
      const got = track(client)
      const states: string[] = []
      client.onState((state) => states.push(state))
      await opened(client)
      const send = async (from: number, to: number) => {
        for (let i = from; i <= to; i++) {
          await publisher.publish('room:r', 'message', { user: 'kim', text: String(i) })
        }
      }
      await send(1, 5)
      await waitFor(() => got.length >= 5, {
        what: `5 events before the restart (got ${got.length})`,
      })
      await server.close()
      // Published while no server runs: only Redis history holds these.
      await send(6, 10)
      const restarted = await startRedisse(prefix, port)
      cleanups.push(() => restarted.server.close())
      await waitFor(() => got.length >= 10, {
        timeout: 8000,
        what: `10 events after the restart (got ${got.length})`,
      })
      await send(11, 15)
      await waitFor(() => got.length >= 15, { what: `15 events (got ${got.length})` })
      await new Promise((r) => setTimeout(r, 100))
      expect(got.map((e) => Number((e.data as { text: string }).text))).toEqual(
        Array.from({ length: 15 }, (_, i) => i + 1),
      )
      expect(states).toContain('reconnecting')
      expect(client.state).toBe('open')
    })
  },
)

describe('token placement against a real server', () => {
  it('sends the token as Authorization: Bearer on fetch and as access_token on EventSource and WebSocket', async () => {
    const { publisher, url } = await setup()
    const user = publisher.subject('zed')
    await user.addChannel('room:z')
    const token = await user.generateToken()
    const seen: string[] = []
    const spy: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers)
      seen.push(`${new URL(String(input)).search} ${headers.get('authorization')}`)
      return fetch(input, init)
    }
    const viaFetch = createClient<ChatEvents>(url, { transport: 'fetch', token, fetch: spy })
    track(viaFetch)
    await opened(viaFetch)
    expect(seen).toEqual([` Bearer ${token}`])
    const es = TRANSPORTS[0]
    const requested: string[] = []
    const viaEventSource = createClient<ChatEvents>(url, {
      ...es.options,
      EventSource: class extends es.options.EventSource {
        constructor(input: string | URL, init?: { withCredentials?: boolean }) {
          requested.push(String(input))
          super(input, init)
        }
      },
      token,
    })
    track(viaEventSource)
    await opened(viaEventSource)
    expect(requested).toEqual([`${url}?access_token=${token}`])
    const ws = TRANSPORTS[3]
    const dialled: string[] = []
    const viaWebSocket = createClient<ChatEvents>(url, {
      ...ws.options,
      WebSocket: class extends ws.options.WebSocket {
        constructor(input: string) {
          dialled.push(input)
          super(input)
        }
      },
      token,
    })
    track(viaWebSocket)
    await opened(viaWebSocket)
    expect(dialled).toEqual([`${url.replace('http:', 'ws:')}?access_token=${token}`])
  })
})
