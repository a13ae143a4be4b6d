import type { EventsOptions } from './Client'

/**
 * An async iterator over values pushed by `subscribe`, holding at most
 * `buffer` of them (the oldest is dropped first, so a slow loop sees the
 * latest events rather than stalling the client). Ends when `subscribe`
 * calls its `end`, on `signal`, or when the loop breaks.
 */
export function eventIterator<T>(
  subscribe: (push: (value: T) => void, end: () => void) => () => void,
  { buffer = 100, signal }: EventsOptions = {},
): AsyncIterableIterator<T> {
  const items: T[] = []
  let done = false
  let wake: (() => void) | undefined
  let unsubscribe: (() => void) | undefined
  const end = () => {
    done = true
    unsubscribe?.()
    signal?.removeEventListener('abort', end)
    wake?.()
  }
  unsubscribe = subscribe((value) => {
    if (done) return
    items.push(value)
    if (items.length > buffer) items.shift()
    wake?.()
  }, end)
  if (done) unsubscribe()
  if (signal?.aborted) end()
  else signal?.addEventListener('abort', end)
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      for (;;) {
        if (items.length > 0) return { value: items.shift() as T, done: false }
        if (done) return { value: undefined, done: true }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
    },
    async return() {
      items.length = 0
      end()
      return { value: undefined, done: true }
    },
  }
  return iterator
}
