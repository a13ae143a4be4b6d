import { type ClientRequest, request } from 'node:http'
import { createParser } from 'eventsource-parser'

/** What one chaos client received on one channel, split at each `redisse:reset`. */
export interface ChannelLog {
  /** Runs of payload counters; a reset of the channel starts a new run. */
  runs: number[][]
}

/** A stream open this long without an event or a reset while its channels publish is stranded. */
export const STRANDED_AFTER = 10_000

/**
 * A reconnecting SSE client as a browser's EventSource behaves: on any end
 * or error it reconnects after a short delay with `Last-Event-ID`, trying
 * the nodes in turn (a load balancer's job), so node deaths and dropped
 * sockets exercise the server's resume path.
 */
export class ChaosClient {
  readonly logs = new Map<string, ChannelLog>()
  lastEventId: string | undefined
  connects = 0
  /** Events that arrived on a resumed connection before its `:ok`: replayed from history. */
  replayed = 0
  resets = 0
  /**
   * Connections that stayed open {@link STRANDED_AFTER} ms with neither an
   * event nor a reset while their channels were publishing.
   */
  stranded = 0
  /** When the open connection last received an event or a reset (or opened). */
  private lastActivity = 0
  private open = false
  private flagged = false
  /** Every connection and what it received, to explain a failure. */
  readonly trace: Array<{
    node: string
    sent: string | undefined
    ids: string[]
    status?: number | undefined
  }> = []
  private current: ClientRequest | undefined
  private nodeIndex: number
  private stopped = false
  private resolveReady: (() => void) | undefined
  readonly ready: Promise<void>

  constructor(
    private readonly nodes: string[],
    private readonly channels: string[],
    home: number,
  ) {
    this.nodeIndex = home
    for (const channel of channels) this.logs.set(channel, { runs: [[]] })
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve
    })
    this.connect()
  }

  /** Cuts the socket as a network drop would; the client reconnects. */
  drop(): void {
    this.current?.destroy()
  }

  close(): void {
    this.stopped = true
    this.current?.destroy()
  }

  /**
   * Counts the open connection as stranded (once) when it heard nothing for
   * {@link STRANDED_AFTER} ms although one of its channels published since.
   * @param lastPublishAt time of the newest publish per channel
   */
  checkStranded(now: number, lastPublishAt: ReadonlyMap<string, number>): boolean {
    if (!this.open || this.flagged || now - this.lastActivity < STRANDED_AFTER) return false
    if (!this.channels.some((c) => (lastPublishAt.get(c) ?? 0) > this.lastActivity)) return false
    this.flagged = true
    this.stranded += 1
    return true
  }

  /** Newest counter received on `channel`, or 0. */
  newest(channel: string): number {
    const runs = this.logs.get(channel)?.runs ?? []
    for (let i = runs.length - 1; i >= 0; i--) {
      const run = runs[i] ?? []
      if (run.length > 0) return run[run.length - 1] ?? 0
    }
    return 0
  }

  private connect(): void {
    if (this.stopped) return
    const node = this.nodes[this.nodeIndex % this.nodes.length]
    const query = this.channels.map((c) => `channel=${encodeURIComponent(c)}`).join('&')
    const resuming = this.lastEventId !== undefined
    let live = false
    const req = request(`${node}/?${query}`, {
      headers: {
        accept: 'text/event-stream',
        ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}),
      },
    })
    this.current = req
    const entry: (typeof this.trace)[number] = { node: node ?? '', sent: this.lastEventId, ids: [] }
    this.trace.push(entry)
    const retry = () => {
      if (this.current !== req) return
      this.current = undefined
      this.open = false
      // Next attempt goes to the next node, like a balancer skipping a dead one.
      this.nodeIndex += 1
      setTimeout(() => this.connect(), 50 + Math.random() * 100)
    }
    req.on('error', retry)
    req.on('close', retry)
    req.on('response', (res) => {
      entry.status = res.statusCode
      if (res.statusCode !== 200) {
        res.resume()
        return
      }
      this.connects += 1
      this.open = true
      this.flagged = false
      this.lastActivity = Date.now()
      const parser = createParser({
        onComment: (comment) => {
          if (comment.trim() !== 'ok') return
          live = true
          this.resolveReady?.()
        },
        onEvent: (event) => {
          this.lastActivity = Date.now()
          if (event.id) this.lastEventId = event.id
          entry.ids.push(`${event.id}${live ? '' : '(r)'}=${event.data.slice(0, 30)}`)
          if (event.event === 'redisse:reset') {
            this.resets += 1
            const { channels } = JSON.parse(event.data) as { channels: string[] }
            for (const channel of channels) this.logs.get(channel)?.runs.push([])
            return
          }
          const channel = event.id?.slice(event.id.indexOf('@') + 1) ?? ''
          const runs = this.logs.get(channel)?.runs
          runs?.[runs.length - 1]?.push(Number(event.data))
          if (resuming && !live) this.replayed += 1
        },
      })
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => parser.feed(chunk))
    })
    req.end()
  }
}

/**
 * Duplicates, losses and order breaks in one channel log, given the last
 * counter published. Counters a `redisse:reset` announced as gone (between
 * the newest one before it and the first one after it) are not losses.
 */
export function auditChannel(
  log: ChannelLog,
  published: number,
): {
  received: number
  duplicates: number
  lost: number
  outOfOrder: number
  excused: number
  /** The first few lost counters, to debug a failure. */
  lostCounters: number[]
} {
  const seen = new Set<number>()
  const excused = new Set<number>()
  let received = 0
  let duplicates = 0
  let outOfOrder = 0
  let newest = 0
  log.runs.forEach((run, index) => {
    const first = run[0]
    if (index > 0 && first !== undefined) {
      for (let c = newest + 1; c < first; c++) excused.add(c)
    }
    // A publish retried after Redis lost its data appends its counter again
    // in the new log: only a repeat within one run is a delivery duplicate.
    const inRun = new Set<number>()
    let previous = 0
    for (const counter of run) {
      received += 1
      if (inRun.has(counter)) duplicates += 1
      else if (counter < previous) outOfOrder += 1
      inRun.add(counter)
      seen.add(counter)
      previous = counter
      newest = Math.max(newest, counter)
    }
  })
  const lostCounters: number[] = []
  for (let c = 1; c <= published; c++) if (!seen.has(c) && !excused.has(c)) lostCounters.push(c)
  return {
    received,
    duplicates,
    lost: lostCounters.length,
    outOfOrder,
    excused: excused.size,
    lostCounters: lostCounters.slice(0, 5),
  }
}
