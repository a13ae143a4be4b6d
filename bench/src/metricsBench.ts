/**
 * Which `/metrics` exposition costs less: Redisse's hand-written text, or
 * the same series read through a prom-client registry
 * (`metrics: { registry }`)? One Redisse server (embedded broker) with
 * CHANNELS channels, one SSE subscriber each, is scraped SCRAPES times per
 * way, the ways interleaved in a shuffled order each round so drift and GC
 * fall on all of them alike. Per scrape: wall time, body bytes, and the
 * event loop's busy time and process CPU over the scrape (the scraper runs
 * in the same process, so these include its own small, equal share).
 *
 * node --conditions=@redisse/source --import tsx src/metricsBench.ts
 * (`pnpm --filter @redisse/bench bench:metrics`); env CHANNELS, SCRAPES.
 * @module
 */
import { Agent, createServer as createHttpServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { createServer } from '@redisse/server'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { SseSocket } from './sseSocket'

const CHANNELS = Number(process.env.CHANNELS ?? 1000)
const SCRAPES = Number(process.env.SCRAPES ?? 200)
const WARMUP = 20

const redisseOnly = new Registry()
const defaults = new Registry()
collectDefaultMetrics({ register: defaults })

const redisse = createServer({
  public: true,
  stats: 'public',
  logger: 'silent',
  metrics: { registry: redisseOnly },
})

const ways = {
  /** The default: Redisse's own text exposition. */
  'hand-written /metrics': '/metrics',
  /** The same redisse_* series through prom-client's registry. */
  'prom-client registry': '/prom',
  /** What a host typically serves: ours plus prom-client's process and event-loop metrics. */
  'prom-client + default metrics': '/prom-defaults',
} as const
type Way = keyof typeof ways

const http: Server = createHttpServer((req, res) => {
  const send = (text: string, contentType: string) => {
    res.writeHead(200, { 'content-type': contentType })
    res.end(text)
  }
  if (req.url === '/prom') {
    void redisseOnly.metrics().then((text) => send(text, redisseOnly.contentType))
  } else if (req.url === '/prom-defaults') {
    void Promise.all([redisseOnly.metrics(), defaults.metrics()]).then(([ours, theirs]) =>
      send(ours + theirs, redisseOnly.contentType),
    )
  } else {
    redisse.handler(req, res)
  }
})

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

function scrape(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
      })
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(bytes)
          : reject(new Error(`${path}: HTTP ${res.statusCode}`)),
      )
    }).on('error', reject)
  })
}

interface Sample {
  ms: number
  bytes: number
  loopMs: number
  cpuMs: number
}

async function measure(port: number, path: string): Promise<Sample> {
  const loop = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const bytes = await scrape(port, path)
  const ms = performance.now() - start
  const { user, system } = process.cpuUsage(cpu)
  return {
    ms,
    bytes,
    loopMs: performance.eventLoopUtilization(loop).active,
    cpuMs: (user + system) / 1000,
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

async function main(): Promise<void> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  const subscribers: SseSocket[] = []
  for (let i = 0; i < CHANNELS; i += 50) {
    const batch = Array.from({ length: Math.min(50, CHANNELS - i) }, (_, k) => {
      const socket = new SseSocket(port, '', `/?channel=bench:${i + k}`, () => {})
      subscribers.push(socket)
      return socket.open()
    })
    await Promise.all(batch)
  }
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as {
    connections: number
    channels: Record<string, number>
  }
  if (stats.connections !== CHANNELS || Object.keys(stats.channels).length !== CHANNELS) {
    throw new Error(
      `expected ${CHANNELS} subscribed channels, /stats has ${Object.keys(stats.channels).length}`,
    )
  }

  const names = Object.keys(ways) as Way[]
  const samples = new Map<Way, Sample[]>(names.map((way) => [way, []]))
  for (let round = 0; round < WARMUP + SCRAPES; round++) {
    for (const way of shuffled(names)) {
      const sample = await measure(port, ways[way])
      if (round >= WARMUP) samples.get(way)?.push(sample)
    }
  }

  const rows = names.map((way) => {
    const s = samples.get(way) ?? []
    return {
      way,
      'median ms': median(s.map((x) => x.ms)).toFixed(3),
      'p90 ms': [...s.map((x) => x.ms)]
        .sort((a, b) => a - b)
        [Math.floor(s.length * 0.9)]?.toFixed(3),
      bytes: median(s.map((x) => x.bytes)),
      'loop busy ms': median(s.map((x) => x.loopMs)).toFixed(3),
      'cpu ms': median(s.map((x) => x.cpuMs)).toFixed(3),
    }
  })
  console.log(
    `${CHANNELS} channels with one SSE subscriber each, ${SCRAPES} scrapes per way (medians), Node ${process.version}`,
  )
  console.table(rows)

  for (const socket of subscribers) socket.close()
  agent.destroy()
  await redisse.close()
  await new Promise<void>((resolve) => http.close(() => resolve()))
}

await main()
