import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createEmbeddedBroker } from '../src/index'

// Issue 15, item 12: the embedded broker kept every token ever issued
// (expired ones included) and every idempotency key. Measured here as heap
// growth after a full GC, with a fake clock so 20,000 entries expire in
// milliseconds of test time.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const MB = 1024 * 1024

describe('embedded broker storage stays bounded', () => {
  it('22,000 short-lived tokens issued and expired leave the heap within 3 MB', async () => {
    let clock = 1_000_000
    const broker = createEmbeddedBroker({ now: () => clock })
    const lasting = await broker.subjects.generateToken('keeper')
    await broker.subjects.addChannel('keeper', 'c')
    // Warm up the code paths so their one-off allocations are not counted
    // (the warm-up's tokens are counted: they expire too).
    await broker.subjects.generateToken('warm', { ttl: 1 })
    const before = heapAfterGc()
    for (let i = 0; i < 2000; i++) await broker.subjects.generateToken(`warm-${i % 50}`, { ttl: 1 })
    clock += 10
    for (let i = 0; i < 20_000; i++) {
      // 200 subjects, each token alive 50 ms of a clock moving 1 ms a token.
      await broker.subjects.generateToken(`user-${i % 200}`, { ttl: 50 })
      clock += 1
    }
    const grown = heapAfterGc() - before
    console.log(`heap growth after 22,000 expired tokens: ${(grown / MB).toFixed(2)} MB`)
    expect(grown).toBeLessThan(3 * MB)
    expect(await broker.resolveToken(lasting)).toMatchObject({ subject: 'keeper' })
    await broker.close()
  })

  it('20,000 idempotency keys past their 24 h leave the heap within 3 MB', async () => {
    let clock = 1_000_000
    const broker = createEmbeddedBroker({ now: () => clock })
    await broker.configureHistory({ size: 0, ttl: 0, rules: [] })
    for (let i = 0; i < 2000; i++) {
      await broker.publish({ channel: 'c', type: 't', data: i, idempotencyKey: `warm-${i}` })
    }
    clock += 86_400_001
    const before = heapAfterGc()
    for (let i = 0; i < 20_000; i++) {
      await broker.publish({
        channel: 'c',
        type: 't',
        data: i,
        idempotencyKey: `key-${i}-${'x'.repeat(100)}`,
      })
      // 1 min a publish: about 1,440 keys are live at any time.
      clock += 60_000
    }
    const grown = heapAfterGc() - before
    console.log(`heap growth after 20,000 expired idempotency keys: ${(grown / MB).toFixed(2)} MB`)
    expect(grown).toBeLessThan(3 * MB)
    // Still deduplicated within the 24 h.
    const id = await broker.publish({ channel: 'c', type: 't', data: 1, idempotencyKey: 'again' })
    clock += 3_600_000
    expect(
      await broker.publish({ channel: 'c', type: 't', data: 2, idempotencyKey: 'again' }),
    ).toBe(id)
    await broker.close()
  })
})
