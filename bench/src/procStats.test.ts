import { execFileSync } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { expect, it } from 'vitest'
import { busyShare, coreTime, usageOf } from './procStats'

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

it('tells the kernel time of a process from its CPU time', () => {
  const u0 = usageOf([process.pid])
  // Syscalls: most of the time goes to the kernel.
  const fd = openSync('/dev/null', 'w')
  const byte = Buffer.alloc(1)
  for (let i = 0; i < 300_000; i++) writeSync(fd, byte)
  closeSync(fd)
  const u1 = usageOf([process.pid])
  // Arithmetic: none of it does.
  let x = 0
  for (let i = 0; i < 300_000_000; i++) x = (x + i) % 7919
  const u2 = usageOf([process.pid])
  expect(x).toBeGreaterThanOrEqual(0)
  expect(u1.sys - u0.sys).toBeGreaterThan(0)
  expect(u1.sys - u0.sys).toBeLessThanOrEqual(u1.cpu - u0.cpu)
  expect(u2.cpu - u1.cpu).toBeGreaterThan(0)
  expect((u2.sys - u1.sys) / (u2.cpu - u1.cpu)).toBeLessThan(0.5)
})
