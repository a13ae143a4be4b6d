import type { EventsOptions } from './Client'

/**
 * An async iterator over values pushed by `subscribe` (subscribed at once,
 * not on the first `next()`), holding at most `buffer` of them: the oldest
 * is dropped first, so a slow loop sees the latest events rather than
 * stalling the client. Ends when `subscribe` calls its `end` (buffered
 * values are still read) or when the loop breaks.
 */
export function eventIterator<T>(
  subscribe: (push: (value: T) => void, end: () => void) => () => void,
  { buffer = 100 }: EventsOptions = {},
): AsyncIterableIterator<T> {
  const items: T[] = []
  let done = false
  let wake = () => {}
  let unsubscribe: (() => void) | undefined
  const end = () => {
    done = true
    unsubscribe?.()
    wake()
  }
  unsubscribe = subscribe((value) => {
    if (items.push(value) > buffer) items.shift()
    wake()
  }, end)
  if (done) end()
  return (async function* () {
    try {
      for (;;) {
        if (items.length > 0) yield items.shift() as T
        else if (done) return
        else await new Promise<void>((resolve) => (wake = resolve))
      }
    } finally {
      end()
    }
  })()
}
