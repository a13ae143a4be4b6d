import { afterEach } from 'vitest'

/**
 * Runs `undos` last first, awaiting each, and runs every one even when an
 * earlier one throws: a failing close must not leave a redis-server or a
 * server of this test running into the next one. Empties `undos` first, so
 * a throw does not make the next test run them again.
 * @throws the error of the one undo that failed, or an `AggregateError` of
 *   every failure (last first) when several did.
 */
export async function runLastFirst(undos: Array<() => unknown>): Promise<void> {
  const errors: unknown[] = []
  for (const undo of undos.splice(0).reverse()) {
    try {
      await undo()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`)
}

/**
 * A list of undos that the tests of the calling file (or `describe` block)
 * push to as they start things; after each test they run last first, so
 * what was started on top of something closes before it.
 * @returns the list to push undos to, in the order things were started.
 * @see runLastFirst for how a failing undo is reported.
 * @example
 * const cleanup = cleanupAfterEach()
 * it('…', async () => {
 *   const redis = await startRedis()
 *   cleanup.push(() => redis.stop())
 * })
 */
export function cleanupAfterEach(): Array<() => unknown> {
  const undos: Array<() => unknown> = []
  afterEach(() => runLastFirst(undos))
  return undos
}
