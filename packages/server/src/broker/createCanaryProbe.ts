/** Settings of the canary probe. */
export interface ProbeOptions {
  /** Time between two probes, ms. @defaultValue 2000 */
  interval: number
  /** How long a probe may take to come back before the connection is deemed dead, ms. @defaultValue 2000 */
  timeout: number
}

/** A running probe. */
export interface CanaryProbe {
  /** Feed every message of the probe channel(s) here. */
  heard(message: string): void
  /** Stops probing (the connection is reconnecting or the broker closes). */
  pause(): void
  /** Probes again from now on (the connection is ready). */
  resume(): void
  stop(): void
}

/**
 * A Redis subscriber connection can be dead without any error: a half-open
 * TCP connection (a NAT or a failover dropped it silently) or a stalled
 * server looks exactly like a quiet channel, and pub/sub is at-most-once, so
 * every event meanwhile would vanish. Every `interval` the probe publishes
 * a token of its own to each target (a probe channel the connection
 * subscribed); when none came back through the subscriber within
 * `timeout`, `onDead` reconnects.
 *
 * A connection may hold the subscriptions of several targets (the sharded
 * pool's partitions), and one of them can be lost while the connection
 * lives: then only some tokens come back, and `onDeaf` is told which
 * targets stayed silent.
 */
export function createCanaryProbe<T = undefined>(options: {
  settings: ProbeOptions
  /** What each probe covers, read anew every time; absent, one target (`undefined`). */
  targets?: () => readonly T[]
  /** Publishes a token to the target's probe channel (through the command connection). */
  publish: (token: string, target: T) => Promise<unknown>
  /**
   * Called once per dead probe, when no token came back; `commandAnswered`
   * tells whether a publish itself came back (then only the subscriber
   * connection is dead). Probing pauses until `resume()`.
   */
  onDead: (reason: string, commandAnswered: boolean) => void
  /**
   * Some tokens came back, not those of `targets`: the connection lives,
   * their subscriptions do not. Without it, that counts as dead too.
   * Probing goes on.
   */
  onDeaf?: (targets: T[], reason: string) => void
  /** A token of the probe in flight came back: `target`'s subscription carries messages. */
  onHeard?: (target: T) => void
}): CanaryProbe {
  const { interval, timeout } = options.settings
  const targets = options.targets ?? (() => [undefined as T])
  let waiting: { pending: Map<string, T>; timer: NodeJS.Timeout } | undefined
  let ticker: NodeJS.Timeout | undefined
  let counter = 0

  const clearWaiting = () => {
    if (waiting) clearTimeout(waiting.timer)
    waiting = undefined
  }

  const send = () => {
    if (waiting) return
    const round = targets()
    if (round.length === 0) return
    counter += 1
    const base = `${Date.now().toString(36)}-${counter}`
    // A token per target, so an answer says which subscription carried it.
    const pending = new Map(round.map((target, i) => [`${base}-${i}`, target] as const))
    let answered = false
    const timer = setTimeout(() => {
      waiting = undefined
      const reason = `no probe came back within ${timeout} ms`
      if (pending.size < round.length && options.onDeaf) {
        options.onDeaf([...pending.values()], reason)
        return
      }
      pause()
      options.onDead(reason, answered)
    }, timeout)
    timer.unref()
    waiting = { pending, timer }
    // A failed publish means Redis is unreachable for commands too; the
    // timeout above still decides, so one rule covers both connections.
    for (const [token, target] of pending) {
      options.publish(token, target).then(
        () => {
          answered = true
        },
        () => {},
      )
    }
  }

  const pause = () => {
    clearWaiting()
    if (ticker) clearInterval(ticker)
    ticker = undefined
  }

  return {
    heard(message) {
      const pending = waiting?.pending
      if (!pending?.has(message)) return
      const target = pending.get(message) as T
      pending.delete(message)
      if (pending.size === 0) clearWaiting()
      options.onHeard?.(target)
    },
    pause,
    resume() {
      if (ticker) return
      ticker = setInterval(send, interval)
      ticker.unref()
    },
    stop: pause,
  }
}
