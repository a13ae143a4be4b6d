import type { PushConnection, PushHandler } from '@redisse/server'

/** The clock's push handler and what it keeps. */
export interface Clock {
  /** Give it to `createServer({ push })`. */
  readonly handler: PushHandler
  /** Open connections, of both transports. */
  readonly clients: ReadonlySet<PushConnection>
  /** Stops ticking. */
  stop(): void
}

const twoDigits = (n: number) => String(n).padStart(2, '0')

/** `HH:MM:SS` of a date, in local time. */
export function formatTime(date: Date): string {
  return `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}:${twoDigits(date.getSeconds())}`
}

/**
 * One handler for SSE and WebSocket clients alike: it keeps the open
 * connections, writes the time to each of them every tick, and echoes what
 * WebSocket clients send. Nothing here knows which transport a client uses.
 */
export function createClock({ interval = 1000, log = console.log } = {}): Clock {
  const clients = new Set<PushConnection>()
  const handler: PushHandler = {
    onOpen(conn) {
      log(`--- on_open ${conn.transport} #${conn.id}`)
      clients.add(conn)
    },
    onClose(conn, reason) {
      log(`--- on_close #${conn.id} (${reason})`)
      clients.delete(conn)
    },
    onDrained(conn) {
      log(`--- on_drained #${conn.id}`)
    },
    onMessage(conn, data) {
      log(`--- on_message #${conn.id} ${data}`)
      conn.write('echo', `echo: ${data}`)
    },
    onShutdown(conn) {
      conn.write('bye', 'the clock stops')
    },
  }
  const timer = setInterval(() => {
    const time = formatTime(new Date())
    // A closed client's write is ignored (false), so no try/catch is needed.
    for (const conn of clients) conn.write('tick', time)
  }, interval)
  timer.unref()
  return { handler, clients, stop: () => clearInterval(timer) }
}
