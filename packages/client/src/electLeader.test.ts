import { waitFor } from '@redisse/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { type Election, type ElectionMessage, electLeader } from './electLeader'

const timing = { heartbeat: 40, lease: 150, window: 30 }
const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

/** A tab: an election on its own BroadcastChannel instance (Node delivers between instances). */
function tab(name: string, id: string) {
  const channel = new BroadcastChannel(name)
  const changes: boolean[] = []
  const me = {
    id,
    changes,
    get leading() {
      return changes.at(-1) === true
    },
    /** Stops without a word, as a crashed tab does. */
    crash: () => {
      silent = true
      channel.close()
    },
    election: undefined as unknown as Election,
  }
  let silent = false
  me.election = electLeader({
    name,
    id,
    post: (message: ElectionMessage) => {
      if (!silent) channel.postMessage(message)
    },
    locks: undefined,
    onChange: (leading) => changes.push(leading),
    timing,
  })
  channel.onmessage = ({ data }) => {
    if (!silent) me.election.receive(data)
  }
  closers.push(() => {
    me.election.close()
    if (!silent) setTimeout(() => channel.close(), 5)
  })
  return me
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('electLeader over a BroadcastChannel lease', () => {
  it('elects exactly one leader, the lowest id, among tabs started together', async () => {
    const name = `lease-${Math.random()}`
    const tabs = ['d', 'b', 'e', 'a', 'c'].map((id) => tab(name, id))
    await waitFor(() => tabs.some((t) => t.leading), { what: 'a leader' })
    await sleep(timing.lease)
    expect(tabs.filter((t) => t.leading).map((t) => t.id)).toEqual(['a'])
    expect(tabs.flatMap((t) => t.changes)).toEqual([true])
  })

  it('keeps the leader when a tab joins later', async () => {
    const name = `lease-${Math.random()}`
    const first = tab(name, 'm')
    await waitFor(() => first.leading, { what: 'the first tab leading' })
    const late = tab(name, 'a')
    await sleep(timing.lease * 2)
    expect([first.changes, late.changes]).toEqual([[true], []])
  })

  it('hands over at once when the leader says bye, and after the lease when it crashes', async () => {
    const name = `lease-${Math.random()}`
    const tabs = ['a', 'b', 'c'].map((id) => tab(name, id))
    const [a, b, c] = tabs as [
      ReturnType<typeof tab>,
      ReturnType<typeof tab>,
      ReturnType<typeof tab>,
    ]
    await waitFor(() => a.leading, { what: 'a leading' })
    let since = Date.now()
    a.election.close()
    await waitFor(() => b.leading, { what: 'b leading after bye' })
    expect(Date.now() - since).toBeLessThan(timing.lease)
    since = Date.now()
    b.crash()
    await waitFor(() => c.leading, { what: 'c leading after a crash' })
    expect(Date.now() - since).toBeGreaterThanOrEqual(timing.lease - 5)
    expect(tabs.map((t) => t.changes)).toEqual([[true], [true], [true]])
  })

  it('resolves two leaders to the lower id', async () => {
    // Two tabs that could not hear each other (different channels) both lead…
    const name = `lease-${Math.random()}`
    const x = tab(`${name}-x`, 'x')
    const y = tab(`${name}-y`, 'y')
    await waitFor(() => x.leading && y.leading, { what: 'two leaders' })
    // …until y hears x's heartbeat.
    const bridge = new BroadcastChannel(`${name}-y`)
    const listen = new BroadcastChannel(`${name}-x`)
    listen.onmessage = ({ data }) => bridge.postMessage(data)
    closers.push(() => {
      bridge.close()
      listen.close()
    })
    await waitFor(() => !y.leading, { what: 'y stepping down' })
    expect([x.changes, y.changes]).toEqual([[true], [true, false]])
  })
})

describe('electLeader with Web Locks', () => {
  it('leads while holding the lock and releases it on close', async () => {
    const waiting: Array<() => void> = []
    let held = false
    const locks = {
      request(
        _name: string,
        options: { signal?: AbortSignal },
        callback: (lock: unknown) => Promise<unknown>,
      ) {
        return new Promise((resolve, reject) => {
          const grant = () => {
            held = true
            callback(null)
              .then(resolve, reject)
              .finally(() => {
                held = false
                waiting.shift()?.()
              })
          }
          if (!held) grant()
          else {
            waiting.push(grant)
            options.signal?.addEventListener('abort', () => {
              waiting.splice(waiting.indexOf(grant), 1)
              reject(new Error('aborted'))
            })
          }
        })
      },
    }
    const changes: string[] = []
    const elect = (id: string) =>
      electLeader({
        name: 'n',
        id,
        post: () => {},
        locks,
        onChange: (leading) => changes.push(`${id} ${leading}`),
      })
    const a = elect('a')
    const b = elect('b')
    const c = elect('c')
    await sleep(10)
    expect(changes).toEqual(['a true'])
    c.close() // leaves the line before its turn
    a.close()
    await sleep(10)
    expect(changes).toEqual(['a true', 'b true'])
    b.close()
    await sleep(10)
    expect(changes).toEqual(['a true', 'b true'])
    expect(held).toBe(false)
  })
})
