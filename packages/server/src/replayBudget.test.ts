import { describe, expect, it } from 'vitest'
import { createReplayBudget } from './replayBudget'

describe('createReplayBudget', () => {
  it('runs at most `slots` reads at once, in the order they asked, and frees a slot on failure', async () => {
    const budget = createReplayBudget(2)
    let running = 0
    let most = 0
    const order: number[] = []
    const read = (i: number) =>
      budget.run(async () => {
        running += 1
        most = Math.max(most, running)
        order.push(i)
        await new Promise((r) => setTimeout(r, 5))
        running -= 1
        if (i === 1) throw new Error('read failed')
        return i
      })
    const results = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => read(i)))
    expect(most).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
    expect(await read(7)).toBe(7)
  })
})
