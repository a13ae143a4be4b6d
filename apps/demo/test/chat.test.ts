import { type Client, createClient } from '@redisse/client'
import { uniquePrefix, waitFor } from '@redisse/test-utils'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createDemoServer, type DemoServer } from '../src/server/createDemoServer'
import type { Me } from '../src/shared/api'
import type { ChatEvents } from '../src/shared/events'

interface Received {
  type: string
  channel: string | undefined
  data: unknown
}

/** A user of the chat as a Node program: the API over fetch, the stream with @redisse/client. */
async function join(server: DemoServer, name: string) {
  const session = (
    (await (
      await fetch(`${server.url}/api/session`, { method: 'POST', body: JSON.stringify({ name }) })
    ).json()) as { session: string }
  ).session
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${session}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const answer = (await res.json()) as T & { error?: { code: string } }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${answer.error?.code}`)
    return answer
  }
  const me = await call<Me>('GET', '/api/me')
  const received: Received[] = []
  const client: Client<ChatEvents> = createClient<ChatEvents>(`${server.url}/events`, {
    token: me.token,
  })
  for (const type of ['message', 'presence', 'kicked', 'invited'] as const) {
    client.on(type, (data, meta) => received.push({ type, channel: meta.channel, data }))
  }
  const states: string[] = []
  client.onState((state) => states.push(state))
  // The server announces each new stream once it is subscribed.
  await waitFor(
    () => received.some((e) => e.type === 'presence' && (e.data as { user: string }).user === name),
    { what: `${name}'s stream` },
  )
  return { name, call, client, received, states }
}

const texts = (received: Received[], channel: string) =>
  received
    .filter((e) => e.type === 'message' && e.channel === channel)
    .map((e) => (e.data as { text: string }).text)

describe.each([
  ['the embedded broker', () => undefined],
  ['Redis', () => inject('redisUrl')],
])('the chat on %s', (_, redisUrl) => {
  let server: DemoServer | undefined
  const clients: Client<ChatEvents>[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    await server?.close()
  })

  const start = async () => {
    server = await createDemoServer({
      port: 0,
      host: '127.0.0.1',
      redis: redisUrl(),
      prefix: uniquePrefix(),
      redissePrefix: uniquePrefix(),
    })
    return server
  }

  it('delivers a posted message to every member of the room, typed, with its channel', async () => {
    const chat = await start()
    const ann = await join(chat, 'ann')
    const bob = await join(chat, 'bob')
    clients.push(ann.client, bob.client)
    await ann.call('POST', '/api/rooms/general/messages', { text: 'hello bob' })
    await waitFor(() => texts(bob.received, 'room:general').length === 1)
    expect(texts(bob.received, 'room:general')).toEqual(['hello bob'])
    expect(texts(ann.received, 'room:general')).toEqual(['hello bob'])
    const { messages } = await bob.call<{ messages: Array<{ text: string; user: string }> }>(
      'GET',
      '/api/rooms/general/messages',
    )
    expect(messages.map((m) => [m.user, m.text])).toEqual([['ann', 'hello bob']])
  })

  it('stops a removed member hearing a private room at once, on the same connection', async () => {
    const chat = await start()
    const ann = await join(chat, 'ann')
    const bob = await join(chat, 'bob')
    clients.push(ann.client, bob.client)
    await ann.call('POST', '/api/rooms', { name: 'Secret', private: true })
    await ann.call('POST', '/api/rooms/secret/members', { user: 'bob' })
    await waitFor(() => bob.received.some((e) => e.type === 'invited'))
    await ann.call('POST', '/api/rooms/secret/messages', { text: 'inside' })
    await waitFor(() => texts(bob.received, 'room:secret').length === 1)

    await ann.call('DELETE', '/api/rooms/secret/members/bob')
    await waitFor(() => bob.received.some((e) => e.type === 'kicked'))
    await ann.call('POST', '/api/rooms/secret/messages', { text: 'after' })
    await ann.call('POST', '/api/rooms/general/messages', { text: 'marker' })
    await waitFor(() => texts(bob.received, 'room:general').includes('marker'))
    expect(texts(bob.received, 'room:secret')).toEqual(['inside'])
    expect(texts(ann.received, 'room:secret')).toEqual(['inside', 'after'])
    expect(bob.states).toEqual(['open'])
    await expect(bob.call('GET', '/api/rooms/secret/messages')).rejects.toThrow('404')
  })

  it('puts a user invited before their first sign-in in the default rooms too', async () => {
    const chat = await start()
    const ann = await join(chat, 'ann')
    clients.push(ann.client)
    await ann.call('POST', '/api/rooms', { name: 'Early', private: true })
    await ann.call('POST', '/api/rooms/early/members', { user: 'carol' })
    const carol = await join(chat, 'carol')
    clients.push(carol.client)
    const me = await carol.call<Me>('GET', '/api/me')
    expect(me.rooms.filter((room) => room.joined).map((room) => room.id)).toEqual([
      'early',
      'general',
      'random',
    ])
  })

  it('refuses the API without a session, and members-only actions to others', async () => {
    const chat = await start()
    const anonymous = await fetch(`${chat.url}/api/me`)
    expect(anonymous.status).toBe(401)
    const ann = await join(chat, 'ann')
    const bob = await join(chat, 'bob')
    clients.push(ann.client, bob.client)
    await ann.call('POST', '/api/rooms', { name: 'Hidden', private: true })
    await expect(bob.call('POST', '/api/rooms/hidden/join')).rejects.toThrow('404')
    await expect(bob.call('POST', '/api/rooms/hidden/members', { user: 'bob' })).rejects.toThrow(
      '404',
    )
    await expect(bob.call('POST', '/api/rooms/general/messages', { text: '' })).rejects.toThrow(
      '400',
    )
  })
})
