import { createPublisher, type Publisher } from '@redisse/publisher'
import { createServer, type RedisseServer } from '@redisse/server'
import { cleanupAfterEach, uniquePrefix, waitFor } from '@redisse/test-utils'
import { describe, expect, inject, it } from 'vitest'
import { type Client, type ClientOptions, createClient, type LockManagerLike } from '../src/index'
import { TRANSPORTS } from './transports'

type ChatEvents = {
  message: { user: string; text: string }
  typing: { user: string }
}

const cleanups = cleanupAfterEach()

async function setup() {
  const prefix = uniquePrefix('shared')
  const server: RedisseServer = createServer({
    redis: inject('redisUrl'),
    prefix,
    tokens: true,
    logger: 'silent',
    retry: 50,
  })
  const { port } = await server.listen(0, '127.0.0.1')
  const publisher: Publisher<ChatEvents> = createPublisher<ChatEvents>({
    redis: inject('redisUrl'),
    prefix,
  })
  cleanups.push(() => server.close())
  cleanups.push(() => publisher.close())
  await publisher.publish('warm:up', 'typing', { user: 'nobody' })
  const user = publisher.subject('ann')
  await user.addChannel('room:1')
  await user.addChannel('user:ann')
  const token = await user.generateToken()
  return { server, publisher, token, url: `http://127.0.0.1:${port}/` }
}

/** Options of one "tab", with the transport's constructor or fetch spied to see who connects. */
function tabOptions(transport: (typeof TRANSPORTS)[number], connected: () => void): ClientOptions {
  const options = transport.options as ClientOptions
  if ('EventSource' in transport.options) {
    const Base = transport.options.EventSource
    return {
      ...options,
      EventSource: class extends Base {
        constructor(input: string | URL, init?: { withCredentials?: boolean }) {
          connected()
          super(input, init)
        }
      },
    }
  }
  if ('WebSocket' in transport.options) {
    const Base = transport.options.WebSocket
    return {
      ...options,
      WebSocket: class extends Base {
        constructor(input: string) {
          connected()
          super(input)
        }
      },
    }
  }
  return {
    ...options,
    fetch: (input, init) => {
      connected()
      return fetch(input, init)
    },
  }
}

interface Tab {
  client: Client<ChatEvents>
  got: string[]
  /** Connections (polls, for `poll`) this tab opened to the server. */
  connects: number
}

function openTabs(
  count: number,
  url: string,
  token: string,
  transport: (typeof TRANSPORTS)[number],
  shared: NonNullable<ClientOptions['shared']>,
): Tab[] {
  return Array.from({ length: count }, (_, index) => {
    const tab = { got: [] as string[], connects: 0 } as Tab
    tab.client = createClient<ChatEvents>(url, {
      ...tabOptions(transport, () => {
        tab.connects += 1
      }),
      token,
      shared,
      reconnect: { delay: 20, maxDelay: 200 },
    })
    cleanups.push(() => tab.client.close())
    tab.client.on('message', (msg, meta) =>
      tab.got.push(`${meta.channel} ${meta.type} ${msg.text}`),
    )
    // Only some tabs listen to `typing`: the leader must still carry it to them.
    if (index % 2 === 1) {
      tab.client.on('typing', (msg, meta) =>
        tab.got.push(`${meta.channel} ${meta.type} ${msg.user}`),
      )
    }
    return tab
  })
}

const expectedFor = (index: number, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).flatMap((n) => [
    `room:1 message ${n}`,
    ...(index % 2 === 1 ? [`user:ann typing u${n}`] : []),
  ])

async function send(publisher: Publisher<ChatEvents>, from: number, to: number) {
  for (let n = from; n <= to; n++) {
    await publisher.publish('room:1', 'message', { user: 'bob', text: String(n) })
    await publisher.publish('user:ann', 'typing', { user: `u${n}` })
  }
}

/** An in-memory Web Locks manager (exclusive locks, FIFO, abortable waits), as browsers grant them. */
function fakeLocks(): LockManagerLike {
  const queues = new Map<string, Array<() => void>>()
  const held = new Set<string>()
  const next = (name: string) => {
    const grant = queues.get(name)?.shift()
    if (grant) grant()
    else held.delete(name)
  }
  return {
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        const grant = () => {
          held.add(name)
          callback({ name })
            .then(resolve, reject)
            .finally(() => next(name))
        }
        if (!held.has(name)) return grant()
        const queue = queues.get(name) ?? []
        queues.set(name, queue)
        queue.push(grant)
        options.signal?.addEventListener('abort', () => {
          const at = queue.indexOf(grant)
          if (at >= 0) queue.splice(at, 1)
          reject(new DOMException('aborted', 'AbortError'))
        })
      })
    },
  }
}

const elections = [
  { name: 'a BroadcastChannel lease', shared: () => ({ locks: false as const }) },
  { name: 'Web Locks', shared: () => ({ locks: fakeLocks() }) },
]

describe.each(elections)('shared: true, leader elected by $name', (election) => {
  describe.each(TRANSPORTS)('over the $name transport', (transport) => {
    it('holds one connection for four tabs, each getting every event once, and hands over without loss or duplicate', async () => {
      const { server, publisher, token, url } = await setup()
      const tabs = openTabs(4, url, token, transport, {
        name: `${url} ${transport.name}`,
        ...election.shared(),
      })
      await waitFor(() => tabs.every((t) => t.client.state === 'open'), {
        what: `every tab open (${tabs.map((t) => t.client.state)})`,
      })
      expect(tabs.filter((t) => t.connects > 0)).toHaveLength(1)
      if (transport.name !== 'poll') expect(server.stats().connections).toBe(1)

      await send(publisher, 1, 3)
      await waitFor(() => tabs.every((t, i) => t.got.length >= expectedFor(i, 1, 3).length), {
        what: 'events 1-3 in every tab',
      })
      const leader = tabs.find((t) => t.connects > 0) as Tab
      // Poll answers end with a bare cursor, relayed a moment after the last event.
      await waitFor(() => tabs.every((t) => t.client.lastEventId === leader.client.lastEventId), {
        what: `one lastEventId in every tab (${tabs.map((t) => t.client.lastEventId)})`,
      })
      expect(leader.client.lastEventId?.split('@')[0]).toMatch(/-7$/)

      leader.client.close()
      // Published while no tab holds the stream: the next leader replays them.
      await send(publisher, 4, 6)
      const rest = tabs.filter((t) => t !== leader)
      await waitFor(
        () => rest.every((t) => t.got.length >= expectedFor(tabs.indexOf(t), 1, 6).length),
        {
          timeout: 8000,
          what: `events 4-6 after the hand-over (${rest.map((t) => t.got.length)})`,
        },
      )
      await send(publisher, 7, 7)
      await waitFor(
        () => rest.every((t) => t.got.length >= expectedFor(tabs.indexOf(t), 1, 7).length),
        {
          what: 'event 7 from the new leader',
        },
      )
      await new Promise((r) => setTimeout(r, 100))
      for (const tab of rest) expect(tab.got).toEqual(expectedFor(tabs.indexOf(tab), 1, 7))
      expect(rest.filter((t) => t.connects > 0)).toHaveLength(1)
      expect(rest.every((t) => t.client.state === 'open')).toBe(true)
      if (transport.name !== 'poll') {
        await waitFor(() => server.stats().connections === 1, { what: 'one connection again' })
      }
      expect(leader.got).toEqual(expectedFor(tabs.indexOf(leader), 1, 3))
    })
  })
})

describe('shared: true, edge cases', () => {
  it.each(
    TRANSPORTS.filter((t) => t.name === 'eventsource' || t.name === 'websocket').flatMap(
      (transport) => elections.map((election) => ({ ...transport, election })),
    ),
  )(
    'a tab opened later follows the open leader over $name ($election.name), with its own event types carried',
    async ({ election, ...transport }) => {
      const { server, publisher, token, url } = await setup()
      // One lock manager for both batches of tabs, as one browser has.
      const shared = { name: `${url} late`, ...election.shared() }
      const [first] = openTabs(1, url, token, transport, shared) as [Tab]
      await waitFor(() => first.client.state === 'open', { what: 'the first tab open' })
      // Index 1 of a second batch listens to `typing`, which the leader does not.
      const [, late] = openTabs(2, url, token, transport, shared) as [Tab, Tab]
      await waitFor(() => late.client.state === 'open', { what: 'the late tab open' })
      await new Promise((r) => setTimeout(r, 50))
      await send(publisher, 1, 2)
      await waitFor(() => late.got.length >= 4, { what: `4 events (${late.got})` })
      expect(late.got).toEqual(expectedFor(1, 1, 2))
      expect(first.got).toEqual(expectedFor(0, 1, 2))
      expect(late.connects).toBe(0)
      expect(server.stats().connections).toBe(1)
    },
  )

  it('replaces a leader that went silent (a crashed tab) after the lease, resuming from the last relayed id', async () => {
    const { publisher, token, url } = await setup()
    // Channels of a "crashed" tab drop everything it would post from then on.
    const muted = new Set<string>()
    const Real = globalThis.BroadcastChannel
    const channels: Array<{ tab: number; channel: BroadcastChannel }> = []
    let creating = -1
    globalThis.BroadcastChannel = class extends Real {
      readonly tab = creating
      constructor(name: string) {
        super(name)
        channels.push({ tab: creating, channel: this })
      }
      override postMessage(message: unknown) {
        if (!muted.has(String(this.tab))) super.postMessage(message)
      }
    }
    cleanups.push(() => {
      globalThis.BroadcastChannel = Real
    })
    const timing = { heartbeat: 100, lease: 400, window: 50 }
    const tabs = [0, 1, 2].map((index) => {
      creating = index
      return openTabs(1, url, token, TRANSPORTS[1], {
        name: `${url} crash`,
        locks: false,
        timing,
      })[0] as Tab
    })
    await waitFor(() => tabs.every((t) => t.client.state === 'open'), { what: 'every tab open' })
    await send(publisher, 1, 2)
    await waitFor(() => tabs.every((t) => t.got.length >= 2), { what: 'events 1-2 everywhere' })
    const leader = tabs.find((t) => t.connects > 0) as Tab
    muted.add(String(tabs.indexOf(leader)))
    const since = Date.now()
    await send(publisher, 3, 4)
    const rest = tabs.filter((t) => t !== leader)
    await waitFor(() => rest.every((t) => t.got.length >= 4), {
      timeout: 5000,
      what: `events 3-4 from a new leader (${rest.map((t) => t.got.length)})`,
    })
    expect(Date.now() - since).toBeGreaterThanOrEqual(timing.lease - 20)
    await new Promise((r) => setTimeout(r, 100))
    for (const tab of rest) expect(tab.got).toEqual(expectedFor(0, 1, 4))
    expect(rest.filter((t) => t.connects > 0)).toHaveLength(1)
    expect(channels).toHaveLength(3)
  })

  it('closes every tab when the leader is refused for good (401)', async () => {
    const { url } = await setup()
    const tabs = openTabs(3, url, 'nope', TRANSPORTS[1], { name: `${url} 401`, locks: false })
    await waitFor(() => tabs.every((t) => t.client.state === 'closed'), {
      what: `every tab closed (${tabs.map((t) => t.client.state)})`,
    })
    expect(tabs.map((t) => t.connects).reduce((a, b) => a + b)).toBe(1)
  })

  it('falls back to a connection of its own without BroadcastChannel', async () => {
    const { url, token } = await setup()
    const saved = globalThis.BroadcastChannel
    // @ts-expect-error: a runtime without BroadcastChannel
    delete globalThis.BroadcastChannel
    try {
      const tabs = openTabs(2, url, token, TRANSPORTS[1], true)
      await waitFor(() => tabs.every((t) => t.client.state === 'open'), { what: 'both open' })
      expect(tabs.map((t) => t.connects)).toEqual([1, 1])
    } finally {
      globalThis.BroadcastChannel = saved
    }
  })
})
