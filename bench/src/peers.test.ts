import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { everyCorePin, pinCommand } from './peers'

const cores = availableParallelism()
/** The cores a command run under `prefix` may use, started from a process pinned to the last core (the load's). */
const coresOf = (prefix: string[]) =>
  execFileSync('taskset', [
    '-c',
    String(cores - 1),
    ...prefix,
    'grep',
    'Cpus_allowed_list',
    '/proc/self/status',
  ])
    .toString()
    .split(':')[1]
    ?.trim()

// The harness pins itself to the load's core; every server it starts gets a pin of its own.
describe.runIf(pinCommand(0, cores).length > 0)('server pins', () => {
  it('give a one-worker server core 0', () => {
    expect(coresOf(pinCommand(0, cores))).toBe('0')
  })

  it('give a server with workers every core, not the load core it would inherit', () => {
    expect(coresOf(everyCorePin(pinCommand(0, cores), cores))).toBe(`0-${cores - 1}`)
  })
})

it('pins nothing for workers where the harness pins nothing', () => {
  expect(everyCorePin([], cores)).toEqual([])
})
