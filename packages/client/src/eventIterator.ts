import type { EventsOptions } from './Client'
import { clientError } from './clientError'

/**
 * An async iterator over values pushed by `subscribe` (subscribed at once,
 * not on the first `next()`), holding at most `buffer` of them. Nothing is
 * dropped silently: when a value comes with the buffer full, the loop still
 * reads every buffered value, then throws a `ClientError` with code
 * `overflow`, and no later value is taken. Ends when `subscribe` calls its
 * `end` (buffered values are still read) or when the loop breaks.
 *
 * The client's stream feeds every listener at once, so it cannot wait for a
 * slow loop (backpressure would stall the other listeners): a loop that
 * must not fail raises `buffer`, or hands the work off (a queue of its own).
 */
export function eventIterator<T>(
  subscribe: (push: (value: T) => void, end: () => void) => () => void,
  { buffer = 100 }: EventsOptions = {},
): AsyncIterableIterator<T> {
  const items: T[] = []
  let done = false
  let failure: unknown
  let wake = () => {}
  let unsubscribe: (() => void) | undefined
  const end = () => {
    done = true
    unsubscribe?.()
    wake()
  }
  unsubscribe = subscribe((value) => {
    if (done) return
    if (items.length < buffer) items.push(value)
    else {
      failure = clientError(
        'overflow',
        `events(): more than ${buffer} events waited for the loop body: raise option buffer`,
      )
      end()
    }
    wake()
  }, end)
  if (done) end()
  return (async function* () {
    try {
      for (;;) {
        if (items.length > 0) yield items.shift() as T
        else if (failure) throw failure
        else if (done) return
        else await new Promise<void>((resolve) => (wake = resolve))
      }
    } finally {
      end()
    }
  })()
}
