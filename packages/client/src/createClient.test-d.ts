import { defineEvents, type ResetEventData } from '@redisse/protocol'
import { describe, expectTypeOf, it } from 'vitest'
import { WebSocket } from 'ws'
import type { ClientEvent, EventMeta } from './Client'
import { createClient } from './createClient'
import type { StandardSchemaV1 } from './StandardSchemaV1'

type ChatEvents = {
  message: { user: string; text: string }
  typing: { user: string }
}

describe('createClient types', () => {
  it('takes the websocket transport with the ws package, and shared options', () => {
    const client = createClient<ChatEvents>('/events', {
      transport: 'websocket',
      WebSocket,
      shared: { name: 'chat', locks: false },
    })
    expectTypeOf(client.lastEventId).toEqualTypeOf<string | undefined>()
    createClient('/events', { shared: true })
    // @ts-expect-error: not a transport name
    createClient('/events', { transport: 'socket' })
    // @ts-expect-error: shared is a boolean or options
    createClient('/events', { shared: 'yes' })
  })

  it('types listener data and meta from the event map', () => {
    const client = createClient<ChatEvents>('/events')
    client.on('message', (data, meta) => {
      expectTypeOf(data).toEqualTypeOf<{ user: string; text: string }>()
      expectTypeOf(meta).toEqualTypeOf<EventMeta<'message'>>()
      expectTypeOf(meta.channel).toEqualTypeOf<string | undefined>()
    })
    expectTypeOf(client.on('typing', () => {})).toEqualTypeOf<() => void>()
    // @ts-expect-error: not an event of the map
    client.on('nope', () => {})
    client.onReset((data) => expectTypeOf(data).toEqualTypeOf<ResetEventData>())
  })

  it('types events() items', () => {
    const client = createClient<ChatEvents>('/events')
    expectTypeOf(client.events('typing')).toEqualTypeOf<
      AsyncIterableIterator<ClientEvent<{ user: string }, 'typing'>>
    >()
  })

  it('takes the map from defineEvents, shared with the publisher', () => {
    const events = defineEvents<ChatEvents>()
    const client = createClient<typeof events>('/events')
    client.on('typing', (data) => expectTypeOf(data.user).toBeString())
  })

  it('checks decoders against the map', () => {
    const typing = {} as StandardSchemaV1<unknown, { user: string }>
    createClient<ChatEvents>('/events', { decoders: { typing } })
    // @ts-expect-error: a decoder must output the type of its event
    createClient<ChatEvents>('/events', { decoders: { message: typing } })
  })

  it('accepts async factories for url, token and headers', () => {
    createClient<ChatEvents>(async () => '/events', {
      token: async () => 'tok',
      headers: () => Promise.resolve({ 'x-app': '1' }),
      transport: 'fetch',
      onAuthError: async () => {},
    })
  })
})
