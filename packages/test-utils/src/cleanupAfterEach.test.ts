import { describe, expect, it } from 'vitest'
import { cleanupAfterEach, runLastFirst } from './cleanupAfterEach'

describe('runLastFirst', () => {
  it('awaits each undo before starting the one pushed before it', async () => {
    const log: string[] = []
    const undos = [1, 2, 3].map((n) => async () => {
      log.push(`start ${n}`)
      await new Promise((resolve) => setImmediate(resolve))
      log.push(`end ${n}`)
    })
    await runLastFirst(undos)
    expect(log).toEqual(['start 3', 'end 3', 'start 2', 'end 2', 'start 1', 'end 1'])
    expect(undos).toEqual([])
  })

  it('runs every undo when one throws, then rethrows that error as it is', async () => {
    const ran: number[] = []
    const failure = new Error('close failed')
    const undos = [
      () => ran.push(1),
      async () => {
        throw failure
      },
      () => ran.push(3),
    ]
    await expect(runLastFirst(undos)).rejects.toBe(failure)
    expect(ran).toEqual([3, 1])
    expect(undos).toEqual([])
  })

  it('reports several failures as one AggregateError, last pushed first', async () => {
    const first = new Error('first pushed')
    const last = new TypeError('last pushed')
    const ran: number[] = []
    const rejection = runLastFirst([
      () => {
        throw first
      },
      () => ran.push(2),
      () => Promise.reject(last),
    ])
    await expect(rejection).rejects.toBeInstanceOf(AggregateError)
    const error = (await rejection.catch((e: unknown) => e)) as AggregateError
    expect(error.errors).toEqual([last, first])
    expect(error.message).toBe('2 cleanup steps failed')
    expect(ran).toEqual([2])
  })
})

// The hook's work shows only after a test ends, so each `it` below checks
// what the afterEach did to the one before it: they run in file order.
describe('cleanupAfterEach', () => {
  const cleanup = cleanupAfterEach()
  const ran: string[] = []
  let errorsOfPrevious: unknown[] | undefined

  it('takes undos during a test', () => {
    cleanup.push(() => ran.push('started first'))
    cleanup.push(async () => {
      await new Promise((resolve) => setImmediate(resolve))
      ran.push('started last')
    })
    expect(ran).toEqual([])
  })

  it('ran them after the test, last first, and emptied the list', () => {
    expect(ran).toEqual(['started last', 'started first'])
    expect(cleanup).toEqual([])
    ran.length = 0
  })

  // `fails` passes only if the test failed, and nothing here fails but the hook.
  it.fails('fails the test whose undo throws, yet runs the others', ({ onTestFinished, task }) => {
    // A copy: `fails` empties the array itself when it turns the result into a pass.
    onTestFinished(() => {
      errorsOfPrevious = [...(task.result?.errors ?? [])]
    })
    cleanup.push(() => ran.push('before the throw'))
    cleanup.push(() => {
      throw new Error('server close failed')
    })
    cleanup.push(() => ran.push('after the throw'))
  })

  it('reported the undo’s own error for that test', () => {
    expect(ran).toEqual(['after the throw', 'before the throw'])
    expect(errorsOfPrevious).toMatchObject([{ message: 'server close failed' }])
    expect(cleanup).toEqual([])
  })
})
