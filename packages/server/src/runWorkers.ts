import cluster, { type Worker } from 'node:cluster'
import type { Logger } from './createLogger'
import type { RedisseServer } from './createServer'
import { collectMetrics } from './handleStatus'
import type { WorkerSnapshot } from './mergeSnapshots'
import { serverContexts } from './serverContexts'

/** How long a worker may take to answer the primary's call for figures, ms. */
const GATHER_TIMEOUT = 1000
/** How long SIGTERM waits for the workers to drain before it kills them, ms. */
const DRAIN_TIMEOUT = 30_000
/** Restart delays of a worker that died after it served: doubled up to the last. */
const RESTART_DELAYS = [500, 1000, 2000, 4000, 8000, 16_000, 30_000]

type FromWorker =
  | { redisse: 'gather'; id: number }
  | { redisse: 'snapshot'; id: number; snapshot: WorkerSnapshot }
type FromPrimary =
  | { redisse: 'snapshot?'; id: number }
  | { redisse: 'gathered'; id: number; snapshots: WorkerSnapshot[]; expected: number }

const isMessage = (m: unknown): m is { redisse: string; id: number } =>
  typeof m === 'object' && m !== null && typeof (m as { redisse?: unknown }).redisse === 'string'

/**
 * The primary of `redisse-server --workers N`: forks N workers sharing the
 * port (node:cluster), restarts one that dies after it served (with a
 * growing delay), gives up with the worker's exit code when one fails at
 * start (Redis unreachable, port taken), gathers every worker's figures for
 * `/stats` and `/metrics`, and on SIGTERM or SIGINT drains them all.
 */
export function runPrimary(options: { workers: number; logger: Logger }): void {
  const { workers, logger } = options
  const slots = new Map<number, Worker>()
  const served = new Set<number>()
  const failures = new Map<number, number>()
  let stopping = false
  let exitCode = 0
  let gatherId = 0
  const pending = new Map<number, { snapshots: WorkerSnapshot[]; done: () => void }>()

  const fork = (slot: number) => {
    const worker = cluster.fork({ REDISSE_WORKER: String(slot) })
    slots.set(slot, worker)
    worker.on('listening', () => {
      served.add(slot)
      failures.set(slot, 0)
    })
    worker.on('message', (message: unknown) => onMessage(worker, message))
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal))
  }

  const onExit = (slot: number, worker: Worker, code: number | null, signal: string | null) => {
    if (slots.get(slot) !== worker) return
    slots.delete(slot)
    if (stopping) {
      if (slots.size === 0) process.exit(exitCode)
      return
    }
    if (!served.has(slot)) {
      // It never served: the same start would fail again (Redis away, port taken, bad config).
      logger.error('a worker failed at start: stopping the others', { worker: slot, code, signal })
      stopAll('worker-failed', code && code > 0 ? code : 1)
      return
    }
    const failed = (failures.get(slot) ?? 0) + 1
    failures.set(slot, failed)
    const delay = RESTART_DELAYS[Math.min(failed, RESTART_DELAYS.length) - 1] ?? 30_000
    logger.warn('a worker died: restarting it', { worker: slot, code, signal, inMs: delay })
    setTimeout(() => {
      if (!stopping) fork(slot)
    }, delay).unref()
  }

  const onMessage = (from: Worker, message: unknown) => {
    if (!isMessage(message)) return
    const m = message as FromWorker
    if (m.redisse === 'snapshot') {
      const round = pending.get(m.id)
      if (!round) return
      round.snapshots.push(m.snapshot)
      if (round.snapshots.length === slots.size) round.done()
      return
    }
    if (m.redisse !== 'gather') return
    const id = ++gatherId
    const snapshots: WorkerSnapshot[] = []
    const reply = () => {
      clearTimeout(timer)
      pending.delete(id)
      if (from.isConnected()) {
        from.send({
          redisse: 'gathered',
          id: m.id,
          snapshots,
          expected: workers,
        } satisfies FromPrimary)
      }
    }
    // A worker that does not answer in time is left out (and counted missing), never waited for.
    const timer = setTimeout(reply, GATHER_TIMEOUT)
    pending.set(id, { snapshots, done: reply })
    for (const worker of slots.values()) {
      if (worker.isConnected()) worker.send({ redisse: 'snapshot?', id } satisfies FromPrimary)
    }
  }

  const stopAll = (reason: string, code = 0) => {
    if (stopping) {
      // A second signal: no more waiting.
      for (const worker of slots.values()) worker.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    exitCode = code
    logger.info('shutting down every worker', { reason, workers: slots.size })
    for (const worker of slots.values()) worker.process.kill('SIGTERM')
    if (slots.size === 0) process.exit(exitCode)
    setTimeout(() => {
      logger.warn('workers still draining after the drain timeout: killing them', {
        workers: slots.size,
      })
      for (const worker of slots.values()) worker.process.kill('SIGKILL')
      process.exit(1)
    }, DRAIN_TIMEOUT).unref()
  }
  process.on('SIGTERM', () => stopAll('SIGTERM'))
  process.on('SIGINT', () => stopAll('SIGINT'))
  for (let slot = 1; slot <= workers; slot++) fork(slot)
}

/**
 * In a worker of `--workers N`: answers the primary's calls for this
 * worker's figures, and makes this worker's `/stats` and `/metrics` ask the
 * primary for everyone's.
 */
export function serveAsWorker(server: RedisseServer): void {
  const ctx = serverContexts.get(server)
  const send = process.send?.bind(process)
  if (!ctx || !send) return
  const worker = Number(process.env.REDISSE_WORKER ?? cluster.worker?.id ?? 0)
  let nextId = 0
  const waiting = new Map<
    number,
    (answer: { snapshots: WorkerSnapshot[]; expected: number }) => void
  >()
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return
    const m = message as FromPrimary
    if (m.redisse === 'snapshot?') {
      const snapshot: WorkerSnapshot = {
        worker,
        stats: server.stats(),
        metrics: collectMetrics(ctx),
      }
      send({ redisse: 'snapshot', id: m.id, snapshot } satisfies FromWorker)
    } else if (m.redisse === 'gathered') {
      waiting.get(m.id)?.({ snapshots: m.snapshots, expected: m.expected })
      waiting.delete(m.id)
    }
  })
  ctx.gather = () =>
    new Promise((resolve, reject) => {
      const id = ++nextId
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error('the primary process did not answer'))
      }, GATHER_TIMEOUT * 2)
      waiting.set(id, (answer) => {
        clearTimeout(timer)
        resolve(answer)
      })
      send({ redisse: 'gather', id } satisfies FromWorker)
    })
}
