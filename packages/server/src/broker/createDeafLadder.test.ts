import { describe, expect, it } from 'vitest'
import { createDeafLadder } from './createDeafLadder'

const steps = <T>(rungs: Array<{ target: T; step: string }>) =>
  rungs.map(({ target, step }) => [target, step])

describe('createDeafLadder', () => {
  it('resubscribes first, replaces the connection at the 2nd verdict, then reports it stays deaf', () => {
    const ladder = createDeafLadder<string>({ now: () => 0 })
    expect(ladder.deaf(['a'])).toEqual([{ target: 'a', rounds: 1, step: 'resubscribe' }])
    expect(ladder.deaf(['a'])).toEqual([{ target: 'a', rounds: 2, step: 'replace' }])
    expect(ladder.deaf(['a'])).toEqual([{ target: 'a', rounds: 3, step: 'stays-deaf' }])
    expect(ladder.deaf(['a'])).toEqual([{ target: 'a', rounds: 4, step: 'still-deaf' }])
  })

  it('reports a target that stays deaf at most once per interval, even across a recovery', () => {
    let clock = 1_000_000
    const ladder = createDeafLadder<string>({ now: () => clock })
    for (let i = 0; i < 2; i++) ladder.deaf(['a'])
    expect(ladder.deaf(['a'])[0]?.step).toBe('stays-deaf')
    clock += 59_999
    expect(ladder.deaf(['a'])[0]?.step).toBe('still-deaf')
    clock += 1
    expect(ladder.deaf(['a'])[0]?.step).toBe('stays-deaf')

    // Heard, then deaf again up the whole ladder within the minute: no second error.
    ladder.heard('a')
    clock += 10_000
    expect(steps([...ladder.deaf(['a']), ...ladder.deaf(['a']), ...ladder.deaf(['a'])])).toEqual([
      ['a', 'resubscribe'],
      ['a', 'replace'],
      ['a', 'still-deaf'],
    ])
  })

  it('climbs each target on its own, and a target that hears its token starts over', () => {
    const ladder = createDeafLadder<string>({ now: () => 0 })
    ladder.deaf(['a'])
    expect(steps(ladder.deaf(['a', 'b']))).toEqual([
      ['a', 'replace'],
      ['b', 'resubscribe'],
    ])
    expect(ladder.heard('a')).toEqual({ rounds: 2, escalated: true })
    expect(ladder.heard('b')).toEqual({ rounds: 1, escalated: false })
    expect(ladder.heard('b')).toBeUndefined()
    expect(ladder.heard('never deaf')).toBeUndefined()
    expect(steps(ladder.deaf(['a']))).toEqual([['a', 'resubscribe']])
  })

  it('counts every verdict, and the targets deaf since they last heard', () => {
    const ladder = createDeafLadder<string>()
    ladder.deaf([])
    expect([ladder.verdicts, ladder.deafTargets]).toEqual([0, 0])
    ladder.deaf(['a', 'b'])
    ladder.deaf(['a'])
    expect([ladder.verdicts, ladder.deafTargets]).toEqual([3, 2])
    ladder.heard('a')
    expect([ladder.verdicts, ladder.deafTargets]).toEqual([3, 1])
  })

  it('takes its thresholds from options', () => {
    const ladder = createDeafLadder<string>({ replaceAt: 3, reportInterval: 0, now: () => 0 })
    const rungs = [1, 2, 3, 4, 5].flatMap(() => ladder.deaf(['a']))
    expect(rungs.map((r) => r.step)).toEqual([
      'resubscribe',
      'resubscribe',
      'replace',
      'stays-deaf',
      'stays-deaf',
    ])
  })
})
