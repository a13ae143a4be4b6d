import type { Connection } from './Connection'

/** Streams sent a keep-alive per tick of the sweep. */
const SWEEP_SLICE = 2000

/**
 * Starts one shared keep-alive sweep over the open connections, written in
 * slices over several ticks so tens of thousands of streams never block the
 * loop at once. The timer does not keep the process alive.
 * @returns stops the sweep
 */
export function startKeepAliveSweep(options: {
  connections: Iterable<Connection>
  /** Interval between sweeps, ms. */
  keepAlive: number
  /** Logs a keep-alive write that threw (its connection is then closed). */
  failed: (connection: Connection, err: unknown) => void
}): () => void {
  const { connections, failed } = options
  const sweep = setInterval(() => {
    const due = [...connections]
    let at = 0
    const slice = () => {
      const end = Math.min(at + SWEEP_SLICE, due.length)
      for (; at < end; at++) {
        const connection = due[at]!
        if (connection.closed) continue
        // A timer callback: a transport that throws would end the process.
        try {
          connection.heartbeat()
        } catch (err) {
          failed(connection, err)
          connection.close('write-error')
        }
      }
      if (at < due.length) setImmediate(slice)
    }
    slice()
  }, options.keepAlive)
  sweep.unref()
  return () => clearInterval(sweep)
}
