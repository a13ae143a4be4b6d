import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { expect, it } from 'vitest'
import { busyShare, coreTime } from './procStats'

const core = availableParallelism() - 1

it('reads a core as busy while a process spins on it, whoever the process is', () => {
  const before = coreTime(core)
  // A process of its own, pinned there: the share counts every user of the core.
  execFileSync('taskset', [
    '-c',
    String(core),
    process.execPath,
    '-e',
    'const end = Date.now() + 500; while (Date.now() < end);',
  ])
  const after = coreTime(core)
  expect(before && after).toBeTruthy()
  expect(busyShare(before!, after!)).toBeGreaterThan(0.8)
})

it('has no times for a core the machine lacks', () => {
  expect(coreTime(availableParallelism() + 64)).toBeUndefined()
})
