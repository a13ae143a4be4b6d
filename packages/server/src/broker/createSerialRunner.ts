/** A task run one at a time, again when asked while it runs. */
export interface SerialRunner {
  /** Runs the task now, or once more right after the run in progress. */
  schedule(): void
  /** Set by {@link SerialRunner.close}: nothing runs any more. */
  readonly closed: boolean
  /** Stops: no new run, no retry (a run in progress finishes). */
  close(): void
}

/** Options of {@link createSerialRunner}. */
export interface SerialRunnerOptions {
  run(): Promise<void>
  /** A run failed; the retry rule below still applies. */
  onError(err: unknown): void
  /** Read after a run no one asked to repeat: whether work is left, to retry after `retryDelay`. */
  retryWhile(): boolean
  /** ms. */
  retryDelay: number
}

/**
 * Runs a task serially: a request that comes in during a run is folded into
 * one more run right after it, so the task never overlaps itself and never
 * misses a change; work left over is retried after a delay instead of in a
 * tight loop.
 */
export function createSerialRunner(options: SerialRunnerOptions): SerialRunner {
  let closed = false
  let running = false
  let again = false
  let retryTimer: NodeJS.Timeout | undefined

  function schedule() {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = true
    again = false
    options
      .run()
      .catch(options.onError)
      .finally(() => {
        running = false
        if (closed) return
        if (again) schedule()
        else if (options.retryWhile() && !retryTimer) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined
            schedule()
          }, options.retryDelay)
          retryTimer.unref()
        }
      })
  }

  return {
    schedule,
    get closed() {
      return closed
    },
    close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
    },
  }
}
