import { createHook } from 'node:async_hooks'

/**
 * Whether `work` settles (resolved or rejected) within `ms`; its timer is
 * cleared either way, so the check itself leaves nothing running.
 */
export async function settlesWithin(
  work: Promise<unknown>,
  ms: number,
): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms)
  })
  const settled = work.then(
    () => 'settled' as const,
    () => 'settled' as const,
  )
  try {
    return await Promise.race([settled, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Kinds of async resource a client that did not close would leave behind. */
const LEFT_BEHIND = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP'])

/**
 * Records the timers and sockets created from now on, so a test can check
 * that every one of them was closed (those of the test runner and of
 * whatever started earlier are not counted). An unref'd timer (Node's HTTP
 * date cache) holds nothing open, so it is not counted either.
 */
export function trackHandles(): { open(): string[]; stop(): void } {
  const live = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>()
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (LEFT_BEHIND.has(type))
        live.set(id, { type, resource: resource as { hasRef?: () => boolean } })
    },
    destroy(id) {
      live.delete(id)
    },
  }).enable()
  return {
    open: () =>
      [...live.values()]
        .filter(({ type, resource }) => type !== 'Timeout' || resource.hasRef?.() !== false)
        .map(({ type }) => type),
    stop: () => hook.disable(),
  }
}

/**
 * What `tracker` still finds open once the event loop has turned 100 times
 * and `ms` have passed (sooner if nothing is), without a timer of its own
 * (it would be counted): destroy hooks and socket closes run a few turns
 * after a close.
 */
export async function stillOpen(tracker: { open(): string[] }, ms = 0): Promise<string[]> {
  const deadline = Date.now() + ms
  for (let turn = 0; tracker.open().length > 0 && (turn < 100 || Date.now() < deadline); turn++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  return tracker.open()
}

/** The error `work` fails with (caught at once, so it is never unhandled), or the value it resolved to. */
export function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    (value) => ({ resolved: value }),
    (err: unknown) => err,
  )
}
