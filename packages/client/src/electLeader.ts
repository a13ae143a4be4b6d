/** The part of the Web Locks API the election uses (`navigator.locks`). */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>
}

/** Messages of the lease election, on the tabs' BroadcastChannel. */
export interface ElectionMessage {
  t: 'hello' | 'here' | 'claim' | 'bye'
  from: string
}

/** Timings of the lease election, ms. */
export interface ElectionTiming {
  /** A leader says `here` this often. */
  heartbeat: number
  /** Without a `here` for this long, the leader is presumed gone. */
  lease: number
  /** How long a candidate listens for a leader or a stronger claim. */
  window: number
}

export const ELECTION_TIMING: ElectionTiming = { heartbeat: 500, lease: 1500, window: 150 }

/** One tab's part in the election. */
export interface Election {
  /** Feeds a message of another tab. */
  receive(message: { t?: unknown; from?: unknown }): void
  /** Leaves: a leader releases its lock or says `bye`, so another takes over at once. */
  close(): void
}

export interface ElectLeaderOptions {
  /** The lock name (tabs sharing a stream share it). */
  name: string
  /** This tab's id, unique among tabs: the lowest claiming id wins a lease election. */
  id: string
  /** Posts to the other tabs. */
  post(message: ElectionMessage): void
  /** Web Locks when the browser has them: exact, released by the browser when a tab dies. */
  locks: LockManagerLike | undefined
  /** Called with `true` when this tab becomes the leader, `false` if it must step down. */
  onChange(leading: boolean): void
  timing?: ElectionTiming
}

/**
 * Elects one leader among the tabs of an origin: the holder of a Web Lock
 * when `locks` is given (the browser grants it to one tab at a time and
 * hands it to the next when that tab closes or crashes), else a lease over
 * BroadcastChannel: the leader beats every `heartbeat` ms; a tab that hears
 * no beat for `lease` ms, or a `bye`, claims; after `window` ms the lowest
 * live claim leads. Two leaders (a partition healed) resolve to the lower id.
 */
export function electLeader({
  name,
  id,
  post,
  locks,
  onChange,
  timing = ELECTION_TIMING,
}: ElectLeaderOptions): Election {
  let closed = false
  let leading = false
  if (locks) {
    const controller = new AbortController()
    let release: (() => void) | undefined
    locks
      .request(name, { signal: controller.signal }, () => {
        if (closed) return Promise.resolve()
        leading = true
        onChange(true)
        return new Promise<void>((resolve) => {
          release = resolve
        })
      })
      // Aborted by close() while waiting in line: nothing to do.
      .catch(() => {})
    return {
      receive() {},
      close() {
        closed = true
        controller.abort()
        release?.()
      },
    }
  }

  const claims = new Map<string, number>()
  let watchdog: ReturnType<typeof setTimeout> | undefined
  let claiming: ReturnType<typeof setTimeout> | undefined
  let beating: ReturnType<typeof setInterval> | undefined
  const send = (t: ElectionMessage['t']) => post({ t, from: id })
  const wait = (ms: number) => {
    clearTimeout(watchdog)
    watchdog = setTimeout(claim, ms)
  }
  const lead = () => {
    leading = true
    clearTimeout(watchdog)
    send('here')
    beating = setInterval(() => send('here'), timing.heartbeat)
    onChange(true)
  }
  function claim(): void {
    if (closed || leading || claiming) return
    send('claim')
    const decide = () => {
      claiming = undefined
      const now = Date.now()
      // Claims older than two windows belong to tabs that since led or left.
      const rivals = [...claims].filter(([from, at]) => from < id && now - at < 3 * timing.window)
      if (rivals.length) wait(timing.lease)
      else lead()
    }
    // Decide one turn after the window, so that claims which arrived while
    // the event loop was busy (timers fire before pending messages) count.
    claiming = setTimeout(() => {
      claiming = setTimeout(decide)
    }, timing.window)
  }

  // The owner announces a new tab with `hello` (a leader answers `here`).
  wait(timing.window)
  return {
    receive({ t, from }) {
      if (closed || typeof from !== 'string' || from === id) return
      switch (t) {
        case 'here':
          claims.clear()
          if (!leading) {
            clearTimeout(claiming)
            claiming = undefined
            wait(timing.lease)
          } else if (from < id) {
            leading = false
            clearInterval(beating)
            wait(timing.lease)
            onChange(false)
          }
          return
        case 'claim':
          claims.set(from, Date.now())
          if (leading) send('here')
          return
        case 'hello':
          if (leading) send('here')
          return
        case 'bye':
          if (!leading) claim()
          return
      }
    },
    close() {
      if (closed) return
      closed = true
      clearTimeout(watchdog)
      clearTimeout(claiming)
      clearInterval(beating)
      if (leading) send('bye')
    },
  }
}
