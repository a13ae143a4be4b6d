import { historyResolver } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { BROKERS, startServer } from './harness'

const overrides = {
  'typing:*': false,
  'audit:*': { size: 3 },
  'room:*:pins': { size: 2, ttl: 0 },
} as const

describe.each(BROKERS)('per-channel history overrides on the %s broker', (kind) => {
  it('keeps as many events as the first matching pattern says, none for false, the defaults elsewhere', async () => {
    await using srv = await startServer(kind, {
      public: true,
      history: { size: 5, ttl: 60_000, overrides },
    })
    const channels = ['typing:1', 'audit:1', 'room:1:pins', 'room:1', 'audit']
    for (let i = 1; i <= 6; i++) {
      for (const channel of channels) await srv.publish(channel, 'm', i)
    }
    const held = async (channel: string) =>
      (
        await srv.server.broker.histories({
          channels: [channel],
          after: [0],
          maxEvents: 1000,
          maxBytes: 1e9,
        })
      ).envelopes.map((e) => Number(e.data))
    expect(await held('typing:1')).toEqual([])
    expect(await held('audit:1')).toEqual([4, 5, 6])
    expect(await held('room:1:pins')).toEqual([5, 6])
    expect(await held('room:1')).toEqual([2, 3, 4, 5, 6])
    expect(await held('audit')).toEqual([2, 3, 4, 5, 6])
  })

  // A reset channel is not partly replayed: the client refetches its state.
  it('replays a resumed stream per channel override and resets the channel whose short history lost events', async () => {
    await using srv = await startServer(kind, {
      public: true,
      history: { size: 100, overrides: { 'short:*': { size: 1 } } },
    })
    const cursor = await srv.publish('long:a', 'm', 0)
    for (let i = 1; i <= 3; i++) {
      await srv.publish('long:a', 'm', i)
      await srv.publish('short:a', 'm', i)
    }
    const stream = await srv.open('/?channel=long:a&channel=short:a', { 'last-event-id': cursor })
    const events = await stream.waitForEvents(4)
    const reset = events.find((e) => e.event === 'redisse:reset')
    expect(JSON.parse(reset?.data ?? '{}')).toMatchObject({
      channels: ['short:a'],
      reason: 'history-gap',
    })
    expect(
      events.filter((e) => e.event === 'm').map((e) => `${e.id?.split('@')[1]}=${e.data}`),
    ).toEqual(['long:a=1', 'long:a=2', 'long:a=3'])
  })
})

// The publish script matches patterns in Lua; the embedded broker and the
// server use historyResolver. Both must pick the same rule for any channel.
it('matches patterns in the publish script exactly as historyResolver does', async () => {
  const rules = [
    { pattern: 'a.b*', size: 1, ttl: 0 },
    { pattern: '*+x', size: 2, ttl: 0 },
    { pattern: 'c-*-d', size: 3, ttl: 0 },
    { pattern: '*:*:z', size: 4, ttl: 0 },
  ]
  const overridesOf = Object.fromEntries(rules.map((r) => [r.pattern, { size: r.size }]))
  await using srv = await startServer('redis', {
    public: true,
    history: { size: 5, overrides: overridesOf },
  })
  const historyOf = historyResolver({ size: 5, ttl: 0 }, rules)
  const names = ['a.b', 'a.bc', 'aXb', 'q+x', '+x', 'qx', 'c--d', 'c-1-d', 'c-1-d-', '1:2:z', ':z']
  for (const name of names) {
    for (let i = 0; i < 6; i++) await srv.publish(name, 'm', i)
    const kept = (
      await srv.server.broker.histories({
        channels: [name],
        after: [0],
        maxEvents: 1000,
        maxBytes: 1e9,
      })
    ).envelopes.length
    expect({ name, kept }).toEqual({ name, kept: historyOf(name).size })
  }
})
