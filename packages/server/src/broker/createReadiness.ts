import type { BrokerState } from './Broker'
import { withDeadline } from './withDeadline'

/** The state of one partition of the sharded pool, and the calls waiting for it to be ready. */
export interface Readiness {
  readonly state: BrokerState
  /** Moves to `next` (never out of `closed`), settling the waiters on `ready` and failing them on `closed`. */
  set(next: BrokerState): void
  /**
   * Resolves at once when ready, else once it is; fails with
   * `broker-unavailable` after `ms`, or when it closes.
   * @param what - what the caller waits to do, for the error message
   */
  wait(what: string, ms?: number): Promise<void>
}

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /** Bound of {@link Readiness.wait} when it is given none, ms. */
  timeout: number
  /** The state changed. */
  onChange(state: BrokerState): void
}

/** A partition's state, starting `connecting`, with its waiters. */
export function createReadiness(options: ReadinessOptions): Readiness {
  let state: BrokerState = 'connecting'
  const waiters = new Set<(closed?: Error) => void>()

  return {
    get state() {
      return state
    },
    set(next) {
      if (state === next || state === 'closed') return
      state = next
      options.onChange(next)
      if (next === 'ready' || next === 'closed') {
        const error = next === 'closed' ? new Error('the broker was closed') : undefined
        for (const waiter of waiters) waiter(error)
        waiters.clear()
      }
    },
    wait(what, ms = options.timeout) {
      if (state === 'ready') return Promise.resolve()
      return withDeadline(
        new Promise<void>((resolve, reject) => {
          if (state === 'closed') reject(new Error('the broker was closed'))
          else waiters.add((closed) => (closed ? reject(closed) : resolve()))
        }),
        { what, ms },
      )
    },
  }
}
