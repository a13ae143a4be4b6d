import { describe, expect, it } from 'vitest'
import { BROKERS, startServer } from './harness'

// Issue 14 §4: every history read is bounded in count and in bytes,
// whatever the cursor asks for, and pages read one after the other give
// every held event once, in publish order, across channels.
describe.each(BROKERS)('history pages of the %s broker', (kind) => {
  it('hold at most maxEvents events and about maxBytes bytes, and chain to every event exactly once', async () => {
    await using srv = await startServer(kind, { public: true, history: { size: 1000 } })
    const pad = 'x'.repeat(1000)
    for (let i = 0; i < 300; i++) await srv.publish(i % 3 ? 'a' : 'b', 'm', { i, pad })
    const { broker } = srv.server
    const channels = ['a', 'b']

    const first = await broker.histories({ channels, after: [0, 0], maxEvents: 100, maxBytes: 1e9 })
    expect(first.envelopes).toHaveLength(100)
    expect(first.complete).toBe(false)
    expect(first.through).toBe(Number(first.envelopes.at(-1)?.id.split('-').pop()))

    const small = await broker.histories({
      channels,
      after: [0, 0],
      maxEvents: 100,
      maxBytes: 10_000,
    })
    const bytes = small.envelopes.reduce((sum, e) => sum + e.data.length, 0)
    expect(small.envelopes.length).toBeGreaterThan(0)
    expect(small.envelopes.length).toBeLessThan(11)
    expect(bytes).toBeLessThanOrEqual(10_000 + 1100)

    // A single event larger than maxBytes still comes, alone.
    const tiny = await broker.histories({ channels, after: [0, 0], maxEvents: 100, maxBytes: 10 })
    expect(tiny.envelopes).toHaveLength(1)
    expect(tiny.complete).toBe(false)

    const seen: number[] = []
    let after = 0
    for (let pages = 0; pages < 100; pages++) {
      const page = await broker.histories({
        channels,
        after: [after, after],
        maxEvents: 100,
        maxBytes: 32 * 1024,
      })
      for (const e of page.envelopes) seen.push((JSON.parse(e.data) as { i: number }).i)
      after = page.through
      if (page.complete) break
    }
    expect(seen).toEqual([...Array(300).keys()])
  })
})
