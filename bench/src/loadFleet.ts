import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as hdr from 'hdr-histogram-js'
import type {
  ChannelPlan,
  PublisherCommand,
  PublisherReply,
  SubscribeStyle,
  WorkerCommand,
  WorkerReply,
} from './messages'
import type { PublishTarget } from './peerPublishers'
import { stopChild } from './stopChild'

const here = dirname(fileURLToPath(import.meta.url))
const execArgv = [
  '--conditions=@redisse/source',
  '--import',
  'tsx',
  ...(process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : []),
]
/** Streams per load worker: a process may hold 20,000 open files here. */
export const STREAMS_PER_WORKER = 15_000

function ask<R>(child: ChildProcess, message: unknown, want: string): Promise<R> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: { reply: string }) => {
      if (reply.reply !== want) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(reply as R)
    }
    const onExit = (code: number | null) =>
      reject(new Error(`worker exited (${code}) while waiting for ${want}`))
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send(message as object)
  })
}

/** Merged view of every worker's counters and histogram. */
export interface FleetSample {
  received: number
  receivedActive: number
  activeConnections: number
  open: number
  histogram: hdr.Histogram
  /** CPU seconds used by the workers since they started. */
  cpu: number
}

/** The load workers of one scenario, each on its own 127.0.0.x source address. */
export class LoadFleet {
  private readonly workers: ChildProcess[] = []

  constructor(
    count: number,
    private readonly addressBase: number,
  ) {
    for (let i = 0; i < count; i++) {
      this.workers.push(
        fork(join(here, 'loadWorker.ts'), [], {
          execArgv,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      )
    }
  }

  static forStreams(streams: number, addressBase: number): LoadFleet {
    return new LoadFleet(Math.max(1, Math.ceil(streams / STREAMS_PER_WORKER)), addressBase)
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!)
  }

  async connect(
    style: SubscribeStyle,
    port: number,
    plan: ChannelPlan,
    total: number,
    concurrency: number,
  ) {
    const per = Math.ceil(total / this.workers.length)
    const replies = await Promise.all(
      this.workers.map((w, i) =>
        ask<Extract<WorkerReply, { reply: 'connected' }>>(
          w,
          {
            cmd: 'connect',
            style,
            port,
            // Binding a source address makes the kernel search its bind table
            // on every connect (slow past a few thousand sockets): only worth it
            // once one address runs short of ephemeral ports (loopback reuses
            // TIME_WAIT ports, tcp_tw_reuse=2).
            localAddress: total > 20_000 ? `127.0.0.${this.addressBase + i}` : '',
            first: i * per,
            count: Math.max(0, Math.min(per, total - i * per)),
            plan,
            concurrency: Math.ceil(concurrency / this.workers.length),
          } satisfies WorkerCommand,
          'connected',
        ),
      ),
    )
    return {
      opened: replies.reduce((s, r) => s + r.opened, 0),
      failed: replies.reduce((s, r) => s + r.failed, 0),
      ms: Math.max(...replies.map((r) => r.ms)),
      firstError: replies.find((r) => r.firstError)?.firstError,
    }
  }

  async reconnect(concurrency: number) {
    const replies = await Promise.all(
      this.workers.map((w) =>
        ask<Extract<WorkerReply, { reply: 'connected' }>>(
          w,
          { cmd: 'reconnect', concurrency } satisfies WorkerCommand,
          'connected',
        ),
      ),
    )
    return {
      opened: replies.reduce((s, r) => s + r.opened, 0),
      failed: replies.reduce((s, r) => s + r.failed, 0),
      ms: Math.max(...replies.map((r) => r.ms)),
    }
  }

  async send(command: WorkerCommand): Promise<void> {
    await Promise.all(this.workers.map((w) => ask(w, command, 'ok')))
  }

  async sample(): Promise<FleetSample> {
    const replies = await Promise.all(
      this.workers.map((w) =>
        ask<Extract<WorkerReply, { reply: 'collected' }>>(
          w,
          { cmd: 'collect' } satisfies WorkerCommand,
          'collected',
        ),
      ),
    )
    const histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000_000,
      numberOfSignificantValueDigits: 3,
    })
    for (const r of replies) histogram.add(hdr.decodeFromCompressedBase64(r.histogram))
    return {
      received: replies.reduce((s, r) => s + r.received, 0),
      receivedActive: replies.reduce((s, r) => s + r.receivedActive, 0),
      activeConnections: replies.reduce((s, r) => s + r.activeConnections, 0),
      open: replies.reduce((s, r) => s + r.open, 0),
      histogram,
      cpu: replies.reduce((s, r) => s + r.cpu, 0),
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map((w) =>
        stopChild(w, () => w.send({ cmd: 'close' } satisfies WorkerCommand), 3000),
      ),
    )
  }
}

/** The open-loop publisher process of one peer. */
export class PublisherProcess {
  private readonly child: ChildProcess

  constructor(target: PublishTarget) {
    this.child = fork(join(here, 'publisherWorker.ts'), [JSON.stringify(target)], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  run(command: Omit<PublisherCommand, 'cmd'>): Promise<PublisherReply> {
    return ask<PublisherReply>(this.child, { cmd: 'run', ...command }, 'done')
  }

  close(): Promise<void> {
    return stopChild(this.child, () => this.child.send({ cmd: 'close' }), 3000)
  }
}
