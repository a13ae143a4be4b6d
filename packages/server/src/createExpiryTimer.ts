/** Longest delay Node's timers take (about 24.8 days); later deadlines are re-armed. */
const MAX_DELAY = 2 ** 31 - 1

/** Calls back for each item when its deadline passes, with ONE timer for all of them. */
export interface ExpiryTimer<T> {
  /** Schedules (or moves) the deadline of `item`, epoch ms. */
  add(item: T, at: number): void
  /** Forgets `item`; true when it was scheduled. */
  delete(item: T): boolean
  /** Items scheduled. */
  readonly size: number
  /** Forgets every item and stops the timer. */
  clear(): void
}

interface Entry<T> {
  at: number
  item: T
  index: number
}

/**
 * Builds an {@link ExpiryTimer}: a binary min-heap of deadlines and one
 * unref'd timer armed for the earliest, so tens of thousands of streams
 * with an expiring token cost one timer, O(log n) per add and delete, and
 * nothing per tick. Items whose deadlines fall in the same firing are
 * expired in deadline order.
 */
export function createExpiryTimer<T>(options: {
  onExpire: (item: T) => void
  now?: () => number
}): ExpiryTimer<T> {
  const now = options.now ?? Date.now
  const heap: Array<Entry<T>> = []
  const entries = new Map<T, Entry<T>>()
  let timer: NodeJS.Timeout | undefined
  let armedFor = Number.POSITIVE_INFINITY

  const swap = (i: number, j: number) => {
    const a = heap[i]!
    const b = heap[j]!
    heap[i] = b
    heap[j] = a
    b.index = i
    a.index = j
  }
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= heap[i]!.at) return
      swap(i, parent)
      i = parent
    }
  }
  const down = (i: number) => {
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let least = i
      if (left < heap.length && heap[left]!.at < heap[least]!.at) least = left
      if (right < heap.length && heap[right]!.at < heap[least]!.at) least = right
      if (least === i) return
      swap(i, least)
      i = least
    }
  }
  const removeAt = (i: number) => {
    const last = heap.pop()!
    if (i < heap.length) {
      heap[i] = last
      last.index = i
      up(i)
      down(last.index)
    }
  }

  const arm = () => {
    const first = heap[0]
    if (!first) {
      clearTimeout(timer)
      timer = undefined
      armedFor = Number.POSITIVE_INFINITY
      return
    }
    if (timer !== undefined && armedFor === first.at) return
    clearTimeout(timer)
    armedFor = first.at
    timer = setTimeout(fire, Math.min(MAX_DELAY, Math.max(0, first.at - now())))
    timer.unref()
  }

  const fire = () => {
    timer = undefined
    const at = now()
    // Callbacks may add or delete items: take each due entry off first.
    for (let first = heap[0]; first !== undefined && first.at <= at; first = heap[0]) {
      removeAt(0)
      entries.delete(first.item)
      try {
        options.onExpire(first.item)
      } catch {
        // One failing callback must not keep the others from expiring.
      }
    }
    armedFor = Number.POSITIVE_INFINITY
    arm()
  }

  return {
    add(item, at) {
      const entry = entries.get(item)
      if (entry) {
        entry.at = at
        up(entry.index)
        down(entry.index)
      } else {
        const created = { at, item, index: heap.length }
        entries.set(item, created)
        heap.push(created)
        up(created.index)
      }
      arm()
    },
    delete(item) {
      const entry = entries.get(item)
      if (!entry) return false
      entries.delete(item)
      removeAt(entry.index)
      arm()
      return true
    },
    get size() {
      return heap.length
    },
    clear() {
      heap.length = 0
      entries.clear()
      arm()
    },
  }
}
