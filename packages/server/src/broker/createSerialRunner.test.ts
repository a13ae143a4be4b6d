import { describe, expect, it } from 'vitest'
import { createSerialRunner } from './createSerialRunner'

/** A run that finishes when the test says so. */
const gate = () => {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

describe('createSerialRunner', () => {
  it('never overlaps a run, and folds requests made during one into a single run after it', async () => {
    const gates = [gate(), gate(), gate()]
    const started = [gate(), gate(), gate()]
    const finished = [gate(), gate(), gate()]
    let runs = 0
    let active = 0
    let most = 0
    const runner = createSerialRunner({
      run: async () => {
        const i = runs++
        active += 1
        most = Math.max(most, active)
        started[i]?.open()
        await gates[i]?.opened
        active -= 1
        finished[i]?.open()
      },
      onError: () => {},
      retryWhile: () => false,
      retryDelay: 1,
    })
    runner.schedule()
    runner.schedule()
    runner.schedule()
    await started[0]?.opened
    gates[0]?.open()
    await started[1]?.opened
    gates[1]?.open()
    await finished[1]?.opened
    // The marker: a request after the folded run gets a run of its own, the 3rd.
    runner.schedule()
    await started[2]?.opened
    gates[2]?.open()
    await finished[2]?.opened
    expect([runs, most]).toEqual([3, 1])
    runner.close()
  })

  it('reports a failed run and retries while work is left, until close', async () => {
    const errors: unknown[] = []
    let left = 2
    let runs = 0
    const drained = gate()
    const runner = createSerialRunner({
      run: async () => {
        runs += 1
        if (runs === 1) throw new Error('slot map unreachable')
        left -= 1
        if (left === 0) drained.open()
      },
      onError: (err) => errors.push(err),
      retryWhile: () => left > 0,
      retryDelay: 1,
    })
    runner.schedule()
    await drained.opened
    expect(runs).toBe(3)
    expect(errors).toEqual([new Error('slot map unreachable')])
    runner.close()
    expect(runner.closed).toBe(true)
    runner.schedule()
    expect(runs).toBe(3)
  })
})
