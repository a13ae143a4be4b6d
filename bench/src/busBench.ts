/**
 * Issue 18 §5(a): the bus alone, on one Redis and on a 3-master Redis
 * Cluster. A closed-loop publisher (a child process, `depth` publishes in
 * flight, `@redisse/publisher`) publishes round-robin over many channels as
 * fast as the bus takes it, for a fixed time; reports the publishes/s it
 * sustained and the Redis processes' CPU, as medians over repetitions run
 * in alternating order. With `--server`, a `redisse-server` node (a child
 * process, the CLI from source) runs on the same bus with one SSE stream
 * per channel held by this process: it also reports the deliveries/s the
 * streams received and the node's CPU per delivery.
 *
 *   pnpm --filter @redisse/bench bench:bus [--seconds 5] [--channels 500] [--depth 256] [--reps 3] [--modes single,cluster] [--server]
 */
import { type ChildProcess, fork } from 'node:child_process'
import { type ClientRequest, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  freePort,
  spawnCliFromSource,
  startRedis,
  startRedisCluster,
  waitFor,
} from '@redisse/test-utils'
import { usageOf } from './procStats'

/** A server node on the bus, and one SSE stream per channel counting the events it gets. */
interface Node {
  child: ChildProcess
  streams: ClientRequest[]
  /** Events received so far, over every stream. */
  received(): number
  stop(): Promise<void>
}

async function startNode(mode: Mode, urls: string[], channels: number): Promise<Node> {
  const port = await freePort()
  const env = mode === 'single' ? { REDIS_URL: urls[0] ?? '' } : { REDIS_CLUSTER: urls.join(',') }
  const child = spawnCliFromSource(
    ['--public', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
    {
      env: { ...process.env, REDIS_URL: '', REDIS_CLUSTER: '', PORT: '', ...env },
      stdio: 'ignore',
    },
  )
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200,
    {
      what: 'the server node',
      timeout: 30_000,
      interval: 100,
    },
  )
  let received = 0
  const streams: ClientRequest[] = []
  await Promise.all(
    Array.from(
      { length: channels },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const req = request(`${url}/?channel=c${i}`, { headers: { accept: 'text/event-stream' } })
          req.on('error', reject)
          req.on('response', (res) => {
            res.setEncoding('utf8')
            // An event block ends with a blank line; comments never do.
            let tail = ''
            res.on('data', (chunk: string) => {
              const text = tail + chunk
              received += text.split('\n\n').length - 1
              tail = text.endsWith('\n') ? '\n' : ''
              if (text.includes(':ok')) resolve()
            })
          })
          req.end()
          streams.push(req)
        }),
    ),
  )
  return {
    child,
    streams,
    received: () => received,
    async stop() {
      for (const stream of streams) stream.destroy()
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
    },
  }
}

type Mode = 'single' | 'cluster'

interface PublishJob {
  mode: Mode
  urls: string[]
  channels: number
  depth: number
  seconds: number
}

interface PublishResult {
  published: number
  failed: number
  seconds: number
  firstError?: string
}

/** The worker thread: publishes round-robin over the channels, `depth` in flight, until time is up. */
async function publishLoop(job: PublishJob): Promise<PublishResult> {
  const { createPublisher } = await import('@redisse/publisher')
  const publisher = createPublisher(
    job.mode === 'single' ? { redis: job.urls[0] ?? '' } : { redis: { cluster: job.urls } },
  )
  // One warm-up publish per channel, so script loading and slot maps are out of the timing.
  await Promise.all(
    Array.from({ length: job.channels }, (_, i) => publisher.publish(`c${i}`, 'warm', {})),
  )
  let published = 0
  let failed = 0
  let firstError: string | undefined
  let k = 0
  const started = performance.now()
  const until = started + job.seconds * 1000
  const lane = async () => {
    while (performance.now() < until) {
      const channel = `c${k++ % job.channels}`
      try {
        await publisher.publish(channel, 'tick', { t: Date.now() })
        published += 1
      } catch (err) {
        failed += 1
        firstError ??= String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: job.depth }, lane))
  const seconds = (performance.now() - started) / 1000
  await publisher.close()
  return { published, failed, seconds, ...(firstError ? { firstError } : {}) }
}

const PUBLISHER_FLAG = '--publisher-process'
const isPublisher = process.argv[2] === PUBLISHER_FLAG
if (isPublisher) {
  publishLoop(JSON.parse(process.argv[3] ?? '{}') as PublishJob).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) =>
      process.send?.({ published: 0, failed: 1, seconds: 0, firstError: String(err) }, () =>
        process.exit(1),
      ),
  )
}

interface Sample {
  mode: Mode
  publishesPerSec: number
  failed: number
  redisCpuShare: number
  /** With `--server`: events the streams received per second, and the node's CPU per delivery. */
  deliveriesPerSec?: number
  nodeCpuPerDeliveryUs?: number
}

async function runOnce(
  mode: Mode,
  o: { channels: number; depth: number; seconds: number; server: boolean },
): Promise<Sample> {
  const single = mode === 'single' ? await startRedis() : undefined
  const cluster = mode === 'cluster' ? await startRedisCluster() : undefined
  const urls = single ? [single.url] : (cluster?.urls ?? [])
  const redisPids = single ? [single.pid] : (cluster?.nodes.map((n) => n.pid) ?? [])
  const node = o.server ? await startNode(mode, urls, o.channels) : undefined
  try {
    const redis0 = usageOf(redisPids).cpu
    const nodePid = node?.child.pid
    const node0 = nodePid === undefined ? 0 : usageOf([nodePid]).cpu
    const received0 = node?.received() ?? 0
    const result = await new Promise<PublishResult>((resolve, reject) => {
      const job: PublishJob = {
        mode,
        urls,
        channels: o.channels,
        depth: o.depth,
        seconds: o.seconds,
      }
      const child = fork(fileURLToPath(import.meta.url), [PUBLISHER_FLAG, JSON.stringify(job)], {
        execArgv: ['--conditions=@redisse/source', '--import', 'tsx'],
      })
      child.once('message', (m) => resolve(m as PublishResult))
      child.once('error', reject)
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`the publisher process exited with ${code}`))
      })
    })
    if (result.firstError) {
      console.log(`  ${mode}: ${result.failed} publishes failed (${result.firstError})`)
    }
    const delivered = (node?.received() ?? 0) - received0
    const nodeCpu = nodePid === undefined ? 0 : usageOf([nodePid]).cpu - node0
    return {
      mode,
      publishesPerSec: result.published / result.seconds,
      failed: result.failed,
      // Warm-up publishes included: a small, equal share in both modes.
      redisCpuShare: (usageOf(redisPids).cpu - redis0) / result.seconds,
      ...(node
        ? {
            deliveriesPerSec: delivered / result.seconds,
            nodeCpuPerDeliveryUs: delivered > 0 ? (nodeCpu * 1e6) / delivered : 0,
          }
        : {}),
    }
  } finally {
    await node?.stop()
    await single?.stop()
    await cluster?.stop()
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0
    ? 0
    : s.length % 2
      ? (s[(s.length - 1) / 2] ?? 0)
      : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2
}

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '6' },
      channels: { type: 'string', default: '500' },
      depth: { type: 'string', default: '256' },
      reps: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'single,cluster' },
      server: { type: 'boolean', default: false },
    },
  })
  const o = {
    seconds: Number(values.seconds),
    channels: Number(values.channels),
    depth: Number(values.depth),
    server: values.server,
  }
  const modes = values.modes.split(',') as Mode[]
  const samples: Sample[] = []
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
      const s = await runOnce(mode, o)
      const delivery =
        s.deliveriesPerSec === undefined
          ? ''
          : `, ${s.deliveriesPerSec.toFixed(0)} deliveries/s at ${s.nodeCpuPerDeliveryUs?.toFixed(1)} µs of node CPU each`
      console.log(
        `  rep ${rep + 1} ${mode.padEnd(7)} ${s.publishesPerSec.toFixed(0)} publishes/s, Redis CPU ${(s.redisCpuShare * 100).toFixed(0)}% of a core, ${s.failed} failed${delivery}`,
      )
      samples.push(s)
    }
  }
  console.log(`\nmedians (${o.channels} channels, ${o.depth} publishes in flight, ${o.seconds} s):`)
  const row = (mode: Mode) => {
    const of = samples.filter((s) => s.mode === mode)
    return {
      mode,
      publishesPerSec: median(of.map((s) => s.publishesPerSec)),
      redisCpuShare: median(of.map((s) => s.redisCpuShare)),
      ...(o.server
        ? {
            deliveriesPerSec: median(of.map((s) => s.deliveriesPerSec ?? 0)),
            nodeCpuPerDeliveryUs: median(of.map((s) => s.nodeCpuPerDeliveryUs ?? 0)),
          }
        : {}),
    }
  }
  const rows = modes.map(row)
  console.table(rows)
  const [a, b] = rows
  if (a && b && a.publishesPerSec > 0) {
    console.log(
      `${b.mode} / ${a.mode} publish throughput: ${(b.publishesPerSec / a.publishesPerSec).toFixed(2)}x`,
    )
  }
}

if (!isPublisher) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
}
