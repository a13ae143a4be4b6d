import { waitFor } from '@redisse/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import type { ClientState, StateInfo } from './Client'
import { createBaseClient } from './createBaseClient'
import { eventSourceTransport } from './eventSourceTransport'
import type { StandardSchemaV1 } from './StandardSchemaV1'
import type { Transport, TransportHandlers, TransportRequest } from './Transport'

/** A transport driven by the test: each `open` is recorded with its handlers. */
function scriptedTransport() {
  const connections: Array<{
    request: TransportRequest
    handlers: TransportHandlers
    types: string[]
  }> = []
  const transport: Transport = {
    name: 'scripted',
    seesKeepAlive: true,
    available: () => true,
    open(request, handlers) {
      const connection = { request, handlers, types: [] as string[] }
      connections.push(connection)
      return { listen: (type) => connection.types.push(type) }
    },
  }
  const connection = async (index: number) => {
    await waitFor(() => connections[index], { what: `connection ${index}` })
    return connections[index] as (typeof connections)[number]
  }
  return { transport, connections, connection }
}

/** A Standard Schema decoder that accepts every value as it is. */
const passThrough = (): StandardSchemaV1 => ({
  '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
})

const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

function start<E extends Record<string, unknown>>(
  options: Partial<Parameters<typeof createBaseClient<E>>[1]> = {},
) {
  const scripted = scriptedTransport()
  const client = createBaseClient<E>('http://127.0.0.1:1/', {
    transport: scripted.transport,
    reconnect: { delay: 5 },
    ...options,
  })
  closers.push(() => client.close())
  const states: Array<[ClientState, StateInfo]> = []
  client.onState((state, info) => states.push([state, info]))
  return { client, states, ...scripted }
}

describe('createBaseClient', () => {
  it('delivers JSON-decoded data with id, type and the channel read from the id', async () => {
    const { client, connection } = start<{ message: { text: string } }>()
    const got: unknown[] = []
    const off = client.on('message', (data, meta) => got.push([data, meta]))
    const c = await connection(0)
    c.handlers.open()
    c.handlers.id('k3x9-12@room:42')
    c.handlers.event('message', '{"text":"hi"}')
    off()
    c.handlers.event('message', '{"text":"unheard"}')
    expect(got).toEqual([
      [{ text: 'hi' }, { id: 'k3x9-12@room:42', type: 'message', channel: 'room:42' }],
    ])
    expect(client.lastEventId).toBe('k3x9-12@room:42')
    expect(c.types.filter(Boolean)).toEqual(['message'])
  })

  it('reports invalid JSON to onDecodeError instead of the listener', async () => {
    const errors: unknown[] = []
    const { client, connection } = start({ onDecodeError: (e) => errors.push(e.code) })
    const got: unknown[] = []
    client.on('message', (data) => got.push(data))
    const c = await connection(0)
    c.handlers.event('message', 'not json')
    expect(got).toEqual([])
    expect(errors).toEqual(['invalid-json'])
  })

  it('validates with Standard Schema decoders, async ones without reordering events', async () => {
    const positive: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) =>
          new Promise((resolve) =>
            setTimeout(
              () =>
                resolve(
                  typeof value === 'number' && value > 0
                    ? { value: value * 10 }
                    : { issues: [{ message: 'not positive' }] },
                ),
              5,
            ),
          ),
      },
    }
    const errors: unknown[] = []
    const { client, connection } = start<{ n: number; other: string }>({
      decoders: { n: positive },
      onDecodeError: (e) => errors.push([e.code, e.data, e.issues?.[0]?.message]),
    })
    const got: unknown[] = []
    client.on('n', (data) => got.push(data))
    client.on('other', (data) => got.push(data))
    const c = await connection(0)
    c.handlers.event('n', '1')
    c.handlers.event('n', '-1')
    c.handlers.event('other', '"after"')
    c.handlers.event('n', '2')
    await waitFor(() => got.length === 3, { what: '3 events' })
    expect(got).toEqual([10, 'after', 20])
    expect(errors).toEqual([['invalid-data', '-1', 'not positive']])
  })

  it('surfaces redisse:reset to onReset only', async () => {
    const { client, connection } = start()
    const resets: unknown[] = []
    const messages: unknown[] = []
    client.onReset((data) => resets.push(data))
    client.on('message', (data) => messages.push(data))
    const c = await connection(0)
    c.handlers.event('redisse:reset', '{"channels":["room:1"],"reason":"history-gap"}')
    expect(resets).toEqual([{ channels: ['room:1'], reason: 'history-gap' }])
    expect(messages).toEqual([])
  })

  it('reconnects with the last id, and resets the attempt counter after the first event', async () => {
    const { states, connection } = start()
    const c0 = await connection(0)
    c0.handlers.close({ kind: 'failed', error: new Error('refused') })
    const c1 = await connection(1)
    expect(c1.request.lastEventId).toBeUndefined()
    c1.handlers.open()
    c1.handlers.id('e-1@c')
    c1.handlers.event('message', '1')
    c1.handlers.close({ kind: 'ended' })
    const c2 = await connection(2)
    expect(c2.request.lastEventId).toBe('e-1@c')
    expect(states.map(([s, i]) => [s, i.reason, i.attempt])).toEqual([
      ['reconnecting', 'network-error', 1],
      ['open', undefined, 1],
      ['reconnecting', 'disconnected', 1],
    ])
  })

  it('uses the server retry as the backoff base', async () => {
    const { states, connection } = start({ reconnect: { delay: 60_000 } })
    const c0 = await connection(0)
    c0.handlers.retry(7)
    c0.handlers.close({ kind: 'ended' })
    expect(states[0]?.[1].delay).toBeLessThanOrEqual(7)
  })

  it('closes after maxAttempts consecutive failures', async () => {
    const { client, states, connection } = start({ reconnect: { delay: 1, maxAttempts: 1 } })
    ;(await connection(0)).handlers.close({ kind: 'failed', error: 'x' })
    ;(await connection(1)).handlers.close({ kind: 'failed', error: 'y' })
    await waitFor(() => client.state === 'closed')
    expect(states.map(([s, i]) => [s, i.reason, i.error])).toEqual([
      ['reconnecting', 'network-error', 'x'],
      ['closed', 'max-attempts', 'y'],
    ])
  })

  it('never reconnects with reconnect: false', async () => {
    const { client, states, connection } = start({ reconnect: false })
    ;(await connection(0)).handlers.close({ kind: 'ended' })
    expect(client.state).toBe('closed')
    expect(states.map(([s, i]) => [s, i.reason])).toEqual([['closed', 'disconnected']])
  })

  it('closes on abort of the signal, and starts closed with an aborted one', async () => {
    const controller = new AbortController()
    const { client, states, connection } = start({ signal: controller.signal })
    const c0 = await connection(0)
    controller.abort()
    expect(c0.request.signal.aborted).toBe(true)
    expect(states.map(([s, i]) => [s, i.reason])).toEqual([['closed', 'aborted']])
    expect(client.state).toBe('closed')
    const early = start({ signal: AbortSignal.abort() })
    expect(early.client.state).toBe('closed')
    await new Promise((r) => setTimeout(r, 20))
    expect(early.connections).toHaveLength(0)
  })

  it('ignores a connection it gave up on, and opens one connection at a time', async () => {
    const { client, connections, connection } = start()
    const c0 = await connection(0)
    c0.handlers.close({ kind: 'ended' })
    const c1 = await connection(1)
    expect(c0.request.signal.aborted).toBe(true)
    c0.handlers.event('message', '"stale"')
    const got: unknown[] = []
    client.on('message', (d) => got.push(d))
    c0.handlers.event('message', '"stale"')
    c1.handlers.event('message', '"live"')
    expect(got).toEqual(['live'])
    expect(connections.filter((c) => !c.request.signal.aborted)).toHaveLength(1)
  })

  it('reconnects at once when the browser comes back online', async () => {
    const target = new EventTarget()
    const g = globalThis as unknown as Record<string, unknown>
    g.addEventListener = target.addEventListener.bind(target)
    g.removeEventListener = target.removeEventListener.bind(target)
    try {
      const { connection } = start({ reconnect: { delay: 60_000 } })
      ;(await connection(0)).handlers.close({ kind: 'failed', error: 'offline' })
      await new Promise((r) => setTimeout(r, 10))
      target.dispatchEvent(new Event('online'))
      await connection(1)
    } finally {
      delete g.addEventListener
      delete g.removeEventListener
    }
  })

  it('gives the stream up when the browser goes offline, and comes back at once on online', async () => {
    const target = new EventTarget()
    const g = globalThis as unknown as Record<string, unknown>
    g.addEventListener = target.addEventListener.bind(target)
    g.removeEventListener = target.removeEventListener.bind(target)
    try {
      const { connection, states } = start({ reconnect: { delay: 60_000 } })
      const c0 = await connection(0)
      c0.handlers.open()
      target.dispatchEvent(new Event('offline'))
      expect(c0.request.signal.aborted).toBe(true)
      expect(states.at(-1)?.[0]).toBe('reconnecting')
      expect(states.at(-1)?.[1].reason).toBe('offline')
      target.dispatchEvent(new Event('online'))
      const c1 = await connection(1)
      expect(c1.request.signal.aborted).toBe(false)
    } finally {
      delete g.addEventListener
      delete g.removeEventListener
    }
  })

  it('reports a transport that reconnects by itself, within maxAttempts', async () => {
    const { connection, states, client } = start({ reconnect: { delay: 5, maxAttempts: 2 } })
    const c = await connection(0)
    c.handlers.open()
    c.handlers.lost('broken')
    c.handlers.open()
    c.handlers.lost('broken')
    c.handlers.lost('refused')
    expect(states.map(([state, info]) => [state, info.reason, info.attempt])).toEqual([
      ['open', undefined, 0],
      ['reconnecting', 'disconnected', 1],
      ['open', undefined, 1],
      ['reconnecting', 'disconnected', 2],
      ['closed', 'max-attempts', 3],
    ])
    expect(client.state).toBe('closed')
    expect(c.request.signal.aborted).toBe(true)
  })

  it('without onAuthError, asks a token factory once more on 401, then closes', async () => {
    let calls = 0
    const { connection, states } = start({ token: () => `t${++calls}` })
    const c0 = await connection(0)
    expect(c0.request.token).toBe('t1')
    c0.handlers.close({ kind: 'failed', status: 401, error: 'expired' })
    const c1 = await connection(1)
    expect(c1.request.token).toBe('t2')
    c1.handlers.close({ kind: 'failed', status: 401, error: 'refused' })
    await waitFor(() => states.at(-1)?.[0] === 'closed', { what: 'closed' })
    expect(states.map(([state, info]) => [state, info.reason])).toEqual([
      ['reconnecting', 'token-refreshed'],
      ['closed', 'unauthorized'],
    ])
  })

  it('closes on 401 with a fixed token and no onAuthError', async () => {
    const { connection, states } = start({ token: 'fixed' })
    ;(await connection(0)).handlers.close({ kind: 'failed', status: 401, error: 'expired' })
    await waitFor(() => states.at(-1)?.[0] === 'closed', { what: 'closed' })
    expect(states.map(([state, info]) => [state, info.reason])).toEqual([
      ['closed', 'unauthorized'],
    ])
  })

  it('gives a code to what the app functions throw, the thrown error as cause', async () => {
    const thrown = new Error('no session')
    const { states } = start({
      token: async () => {
        throw thrown
      },
      reconnect: { delay: 5, maxAttempts: 0 },
    })
    await waitFor(() => states.at(-1)?.[0] === 'closed', { what: 'closed' })
    expect(states.at(-1)?.[1].error).toMatchObject({ code: 'invalid-option', cause: thrown })

    const refused = start({
      onAuthError: () => {
        throw thrown
      },
    })
    ;(await refused.connection(0)).handlers.close({ kind: 'failed', status: 401, error: 'x' })
    await waitFor(() => refused.states.at(-1)?.[0] === 'closed', { what: 'closed' })
    expect(refused.states.at(-1)?.[1]).toMatchObject({
      reason: 'unauthorized',
      error: { code: 'unauthorized', status: 401, cause: thrown },
    })
  })

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'delivers events of type %s with decoders set (own-property lookup)',
    async (type) => {
      const decoders = { other: passThrough() }
      const { client, connection } = start({ decoders } as never)
      const got: unknown[] = []
      client.on(type as never, (data) => got.push(data))
      client.on('end' as never, (data) => got.push(data))
      const c = await connection(0)
      c.handlers.event(type, '{"a":1}')
      c.handlers.event('end', '"end"')
      await waitFor(() => got.length === 2, { what: 'two events' })
      expect(got).toEqual([{ a: 1 }, 'end'])
    },
  )

  it('stops the stream and the iterator on close, the buffered events read first', async () => {
    const { client, connection } = start<{ n: number }>()
    const iterator = client.events('n', { buffer: 3 })
    const c = await connection(0)
    for (const n of [1, 2, 3]) c.handlers.event('n', String(n))
    client.close()
    const got: number[] = []
    for await (const event of iterator) got.push(event.data)
    expect(got).toEqual([1, 2, 3])
    expect(c.request.signal.aborted).toBe(true)
  })

  it('ends events() with a typed overflow error after the buffered events, never dropping silently', async () => {
    const { client, connection } = start<{ n: number }>()
    const iterator = client.events('n', { buffer: 2 })
    const c = await connection(0)
    for (const n of [1, 2, 3, 4]) c.handlers.event('n', String(n))
    const got: number[] = []
    let failure: unknown
    try {
      for await (const event of iterator) got.push(event.data)
    } catch (error) {
      failure = error
    }
    expect(got).toEqual([1, 2])
    expect(failure).toMatchObject({ name: 'RedisseError', code: 'overflow' })
    expect((failure as Error).message).toMatch(/raise option buffer/)
  })

  it('ends events() on break and unsubscribes', async () => {
    const { client, connection } = start<{ n: number }>()
    const c = await connection(0)
    const seen: number[] = []
    const loop = (async () => {
      for await (const event of client.events('n')) {
        seen.push(event.data)
        if (event.data === 2) break
      }
    })()
    c.handlers.event('n', '1')
    await new Promise((r) => setTimeout(r, 1))
    c.handlers.event('n', '2')
    await loop
    c.handlers.event('n', '3')
    expect(seen).toEqual([1, 2])
  })

  it('refuses when no transport can run, naming the options to change', () => {
    expect(() =>
      createBaseClient('http://x/', { transport: eventSourceTransport, headers: { a: 'b' } }),
    ).toThrow(/no usable transport in \[eventsource\]: pass option fetch\/EventSource\/WebSocket/)
  })
})
