/** Settings of the canary probe. */
export interface ProbeOptions {
  /** Time between two probes, ms. @defaultValue 2000 */
  interval: number
  /** How long a probe may take to come back before the connection is deemed dead, ms. @defaultValue 2000 */
  timeout: number
}

/** A running probe. */
export interface CanaryProbe {
  /** Feed every message of the probe channel here. */
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
 * every event meanwhile would vanish. The probe publishes a random token to
 * the node's own probe channel every `interval`; when it has not come back
 * through the subscriber within `timeout`, `onDead` reconnects.
 */
export function createCanaryProbe(options: {
  settings: ProbeOptions
  /** Publishes the token to the probe channel (through the command connection). */
  publish: (token: string) => Promise<unknown>
  /**
   * Called once per dead probe; `commandAnswered` tells whether the publish
   * itself came back (then only the subscriber connection is dead).
   */
  onDead: (reason: string, commandAnswered: boolean) => void
}): CanaryProbe {
  const { interval, timeout } = options.settings
  let waiting: { token: string; timer: NodeJS.Timeout; answered: boolean } | undefined
  let ticker: NodeJS.Timeout | undefined
  let counter = 0

  const clearWaiting = () => {
    if (waiting) clearTimeout(waiting.timer)
    waiting = undefined
  }

  const send = () => {
    if (waiting) return
    counter += 1
    const token = `${Date.now().toString(36)}-${counter}`
    const probe = {
      token,
      answered: false,
      timer: setTimeout(() => {
        waiting = undefined
        pause()
        options.onDead(`no probe came back within ${timeout} ms`, probe.answered)
      }, timeout),
    }
    probe.timer.unref()
    waiting = probe
    // A failed publish means Redis is unreachable for commands too; the
    // timeout above still decides, so one rule covers both connections.
    options.publish(token).then(
      () => {
        probe.answered = true
      },
      () => {},
    )
  }

  const pause = () => {
    clearWaiting()
    if (ticker) clearInterval(ticker)
    ticker = undefined
  }

  return {
    heard(message) {
      if (waiting?.token === message) clearWaiting()
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
