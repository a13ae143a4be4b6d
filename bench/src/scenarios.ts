import type { Histogram } from 'hdr-histogram-js'
import { type FleetSample, LoadFleet, type PublisherProcess } from './loadFleet'
import type { ChannelPlan } from './messages'
import { now } from './now'
import type { Peer, RunningPeer } from './peers'
import { busyShare, coreTime, processTree, usageOf } from './procStats'

/** One measured point of one scenario on one peer. */
export interface Point {
  scenario: string
  label: string
  connections: number
  /** Delivered events per second (deliveries to connections). */
  eventsPerSec: number
  p50: number
  p99: number
  p999: number
  /** Deliveries expected but not received (the peer's own drops included). */
  loss: number
  /** Server CPU µs per delivered event, all of the peer's processes. */
  cpuPerDelivery: number
  /** Server CPU, share of one core over the point. */
  serverCpu: number
  /** The load generator's core was saturated: the figure is the client's, not the server's. */
  clientBound: boolean
  extra: Record<string, number>
}

export interface Scale {
  quick: boolean
  idleConnections: number
  broadcastConnections: number
  broadcastRates: number[]
  stepMs: number
  smallChannelConnections: number
  smallChannelRates: number[]
  burstSubscribers: number
  burstEvents: number
  slowConnections: number
  reconnectConnections: number
  sweepConnections: number
  payloads: number[]
  idleWindowMs: number
}

export const FULL: Scale = {
  quick: false,
  idleConnections: 10_000,
  broadcastConnections: 10_000,
  broadcastRates: [2, 5, 10, 25, 50, 100],
  stepMs: 4000,
  smallChannelConnections: 10_000,
  smallChannelRates: [2000, 5000, 10_000],
  burstSubscribers: 1000,
  burstEvents: 1000,
  slowConnections: 2000,
  reconnectConnections: 10_000,
  sweepConnections: 1000,
  payloads: [100, 1024, 8192],
  idleWindowMs: 8000,
}

export const QUICK: Scale = {
  quick: true,
  idleConnections: 500,
  broadcastConnections: 500,
  broadcastRates: [20],
  stepMs: 1500,
  smallChannelConnections: 500,
  smallChannelRates: [500],
  burstSubscribers: 200,
  burstEvents: 200,
  slowConnections: 0,
  reconnectConnections: 0,
  sweepConnections: 0,
  payloads: [],
  idleWindowMs: 1500,
}

/** What a scenario runs against. */
export interface Bench {
  peer: Peer
  running: RunningPeer
  port: number
  publisher: PublisherProcess
  scale: Scale
  /** Next 127.0.0.x address block, so TIME_WAIT of one scenario never starves the next. */
  nextAddressBase(): number
  redisCommands(): Promise<number>
  /** The core the load runs on (harness, load workers, publisher, Redis), when pinned. */
  loadCore: number | undefined
}

const CLIENT_BOUND = 0.85
/**
 * The load core this busy, whoever kept it so (the load, Redis, or a server
 * whose workers run on every core), marks a point client-bound too: a load
 * generator starved of its core uses less CPU, not more, so its own CPU
 * cannot show it.
 */
const LOAD_CORE_BUSY = 0.9
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ms = (h: Histogram, q: number) => h.getValueAtPercentile(q) / 1000

function serverPids(b: Bench): number[] {
  return processTree(b.running.pid)
}

function subscribersOf(plan: ChannelPlan, connections: number, channel: string): number {
  if (plan.shared.includes(channel)) return connections
  if (channel.startsWith('u')) return 1
  const g = Number(channel.slice(1))
  return Math.max(0, Math.min(plan.groupSize, connections - g * plan.groupSize))
}

async function connectFleet(b: Bench, plan: ChannelPlan, connections: number) {
  const fleet = LoadFleet.forStreams(connections, b.nextAddressBase())
  const result = await fleet.connect(b.peer.style, b.port, plan, connections, 200)
  if (result.failed > 0) {
    console.log(
      `  ${b.peer.name}: ${result.failed} of ${connections} connections failed (${result.firstError})`,
    )
  }
  return { fleet, result }
}

interface StepOptions {
  label: string
  rate: number
  count: number
  channels: string[]
  payloadBytes: number
  plan: ChannelPlan
  connections: number
  /** Only streams still reading count (slow-consumer scenario). */
  activeOnly?: boolean
  extra?: Record<string, number>
}

/** Publishes one step open-loop and waits until every delivery arrived or progress stopped. */
async function step(b: Bench, fleet: LoadFleet, scenario: string, o: StepOptions): Promise<Point> {
  await fleet.send({ cmd: 'reset' })
  const pids = serverPids(b)
  const before = await fleet.sample()
  const u0 = usageOf(pids)
  const core0 = b.loadCore === undefined ? undefined : coreTime(b.loadCore)
  const t0 = now()
  const published = await b.publisher.run({
    rate: o.rate,
    count: o.count,
    payloadBytes: o.payloadBytes,
    channels: o.channels,
  })
  let expected = 0
  for (const [channel, n] of Object.entries(published.perChannel)) {
    expected += n * subscribersOf(o.plan, o.connections, channel)
  }
  let last: FleetSample = await fleet.sample()
  let lastProgress = now()
  const counted = (s: FleetSample) => (o.activeOnly ? s.receivedActive : s.received)
  const expectedCounted = () =>
    o.activeOnly ? Math.round((expected * last.activeConnections) / o.connections) : expected
  while (counted(last) < expectedCounted() && now() - lastProgress < 2000) {
    await sleep(100)
    const s = await fleet.sample()
    if (counted(s) > counted(last)) lastProgress = now()
    last = s
  }
  const t1 = counted(last) >= expectedCounted() ? lastProgress : now()
  const u1 = usageOf(pids)
  const core1 = b.loadCore === undefined ? undefined : coreTime(b.loadCore)
  const loadCoreBusy = core0 && core1 ? busyShare(core0, core1) : 0
  const wall = (Math.max(t1, t0 + published.ms) - t0) / 1000
  const received = counted(last)
  const serverCpu = u1.cpu - u0.cpu
  const clientCpu = last.cpu - before.cpu + published.cpu
  if (published.errors > 0)
    console.log(
      `  ${b.peer.name} ${scenario} ${o.label}: ${published.errors} publish errors (${published.firstError})`,
    )
  return {
    scenario,
    label: o.label,
    connections: o.connections,
    eventsPerSec: received / wall,
    p50: ms(last.histogram, 50),
    p99: ms(last.histogram, 99),
    p999: ms(last.histogram, 99.9),
    loss: Math.max(0, expectedCounted() - received) + published.errors,
    cpuPerDelivery: received > 0 ? (serverCpu / received) * 1e6 : 0,
    serverCpu: serverCpu / wall,
    clientBound: clientCpu / wall >= CLIENT_BOUND || loadCoreBusy >= LOAD_CORE_BUSY,
    extra: {
      loadCoreBusy,
      published: published.published,
      expected: expectedCounted(),
      rssMB: u1.rss / 2 ** 20,
      // Where a delivery's CPU goes: on loopback the kernel time of a write
      // includes the receiving socket's side, whoever the server is.
      serverKernelShare: serverCpu > 0 ? (u1.sys - u0.sys) / serverCpu : 0,
      ...o.extra,
    },
  }
}

const broadcastPlan: ChannelPlan = { shared: ['all'], personal: false, groupSize: 0 }

const sum = (values: number[]) => values.reduce((a, v) => a + v, 0)

/**
 * S1 idle: connections with 3 channels each, heartbeats on: memory per
 * connection, idle CPU, connect rate. The streams open in two halves, so
 * memory is given twice: the growth from the empty server over all of them,
 * and the growth over the second half alone, which leaves out what the
 * first streams cost once (code compiled on the connect path, heap and
 * allocator arenas grown by it).
 */
export async function s1Idle(b: Bench): Promise<Point[]> {
  const n = b.scale.idleConnections
  await sleep(500)
  const base = usageOf(serverPids(b))
  const plan: ChannelPlan = { shared: ['all'], personal: true, groupSize: 10 }
  const first = await connectFleet(b, plan, Math.ceil(n / 2))
  await sleep(1000)
  const half = usageOf(serverPids(b))
  const second = await connectFleet(b, plan, n - Math.ceil(n / 2))
  const fleets = [first.fleet, second.fleet]
  const opened = first.result.opened + second.result.opened
  const sampleCpu = async () => (await Promise.all(fleets.map((f) => f.sample()))).map((s) => s.cpu)
  await sleep(1000)
  const c0 = sum(await sampleCpu())
  const u0 = usageOf(serverPids(b))
  const t0 = now()
  await sleep(b.scale.idleWindowMs)
  const u1 = usageOf(serverPids(b))
  const samples = await Promise.all(fleets.map((f) => f.sample()))
  const wall = (now() - t0) / 1000
  await Promise.all(fleets.map((f) => f.close()))
  return [
    {
      scenario: 'S1',
      label: 'idle',
      connections: opened,
      eventsPerSec: 0,
      p50: 0,
      p99: 0,
      p999: 0,
      loss: n - sum(samples.map((s) => s.open)),
      cpuPerDelivery: 0,
      serverCpu: (u1.cpu - u0.cpu) / wall,
      clientBound: (sum(samples.map((s) => s.cpu)) - c0) / wall >= CLIENT_BOUND,
      extra: {
        bytesPerConnection: opened > 0 ? (u1.rss - base.rss) / opened : 0,
        marginalBytesPerConnection:
          second.result.opened > 0 ? (u1.rss - half.rss) / second.result.opened : 0,
        connectPerSec: opened / ((first.result.ms + second.result.ms) / 1000),
        rssMB: u1.rss / 2 ** 20,
      },
    },
  ]
}

/** S2 broadcast knee: one channel, rate stepped up until p99 ≥ 250 ms or loss. */
export async function s2Broadcast(b: Bench): Promise<Point[]> {
  const n = b.scale.broadcastConnections
  const { fleet } = await connectFleet(b, broadcastPlan, n)
  const points: Point[] = []
  for (const rate of b.scale.broadcastRates) {
    const p = await step(b, fleet, 'S2', {
      label: `${rate}/s`,
      rate,
      count: Math.round((rate * b.scale.stepMs) / 1000),
      channels: ['all'],
      payloadBytes: 100,
      plan: broadcastPlan,
      connections: n,
    })
    points.push(p)
    if (p.p99 >= 250 || p.loss > 0) break
  }
  await fleet.close()
  const ok = points.filter((p) => p.p99 < 250 && p.loss === 0)
  const knee = ok[ok.length - 1]
  points.push({
    ...(knee ?? points[0]!),
    label: 'knee',
    eventsPerSec: knee?.eventsPerSec ?? 0,
    extra: { ...(knee ?? points[0]!).extra, rate: knee ? Number(knee.label.replace('/s', '')) : 0 },
  })
  return points
}

/** S3 many small channels: a personal channel and a group of 10 per connection. */
export async function s3SmallChannels(b: Bench): Promise<Point[]> {
  const n = b.scale.smallChannelConnections
  const plan: ChannelPlan = { shared: [], personal: true, groupSize: 10 }
  const { fleet } = await connectFleet(b, plan, n)
  const channels: string[] = []
  for (let i = 0; i < n; i++) {
    channels.push(`u${(i * 7919) % n}`)
    if (i % 10 === 0) channels.push(`g${((i / 10) * 31) % Math.ceil(n / 10)}`)
  }
  const points: Point[] = []
  for (const rate of b.scale.smallChannelRates) {
    points.push(
      await step(b, fleet, 'S3', {
        label: `${rate}/s`,
        rate,
        count: Math.round((rate * b.scale.stepMs) / 1000),
        channels,
        payloadBytes: 100,
        plan,
        connections: n,
      }),
    )
  }
  await fleet.close()
  return points
}

/** S4 burst: events back to back to every subscriber; time to drain. */
export async function s4Burst(b: Bench): Promise<Point[]> {
  const n = b.scale.burstSubscribers
  const { fleet } = await connectFleet(b, broadcastPlan, n)
  const p = await step(b, fleet, 'S4', {
    label: `${b.scale.burstEvents}x${n}`,
    rate: 0,
    count: b.scale.burstEvents,
    channels: ['all'],
    payloadBytes: 100,
    plan: broadcastPlan,
    connections: n,
  })
  await fleet.close()
  p.extra.drainMs = ((b.scale.burstEvents * n - p.loss) / Math.max(1, p.eventsPerSec)) * 1000
  return [p]
}

/** S5 slow consumers: 5% stop reading; memory stays bounded and the others' p99 holds. */
export async function s5Slow(b: Bench): Promise<Point[]> {
  const n = b.scale.slowConnections
  if (n === 0) return []
  const { fleet } = await connectFleet(b, broadcastPlan, n)
  const base = usageOf(serverPids(b)).rss
  await fleet.send({ cmd: 'pause', fraction: 0.05 })
  const p = await step(b, fleet, 'S5', {
    label: '5% paused',
    rate: 50,
    count: Math.round((50 * b.scale.stepMs * 2) / 1000),
    channels: ['all'],
    payloadBytes: 1024,
    plan: broadcastPlan,
    connections: n,
    activeOnly: true,
  })
  p.extra.rssGrowthMB = (usageOf(serverPids(b)).rss - base) / 2 ** 20
  await fleet.close()
  return [p]
}

/** S6 reconnect storm: every connection drops and comes back with Last-Event-ID while events flow. */
export async function s6Reconnect(b: Bench): Promise<Point[]> {
  const n = b.scale.reconnectConnections
  if (n === 0) return []
  const { fleet } = await connectFleet(b, broadcastPlan, n)
  await fleet.send({ cmd: 'reset' })
  const pids = serverPids(b)
  const u0 = usageOf(pids)
  const rate = 5
  const count = Math.round((rate * b.scale.stepMs * 3) / 1000)
  const publishing = b.publisher.run({ rate, count, payloadBytes: 100, channels: ['all'] })
  await sleep(b.scale.stepMs)
  const commands0 = await b.redisCommands()
  const storm = await fleet.reconnect(500)
  const commands = (await b.redisCommands()) - commands0
  const published = await publishing
  const expected = published.published * n
  let last = await fleet.sample()
  let lastProgress = now()
  while (last.received < expected && now() - lastProgress < 2000) {
    await sleep(100)
    const s = await fleet.sample()
    if (s.received > last.received) lastProgress = now()
    last = s
  }
  const u1 = usageOf(pids)
  await fleet.close()
  return [
    {
      scenario: 'S6',
      label: 'storm',
      connections: n,
      eventsPerSec: 0,
      p50: ms(last.histogram, 50),
      p99: ms(last.histogram, 99),
      p999: ms(last.histogram, 99.9),
      loss: Math.max(0, expected - last.received),
      cpuPerDelivery: 0,
      serverCpu: 0,
      clientBound: false,
      extra: {
        recoverMs: storm.ms,
        reconnected: storm.opened,
        redisCommands: commands,
        serverCpuSec: u1.cpu - u0.cpu,
        resumes: b.peer.resumes ? 1 : 0,
      },
    },
  ]
}

/** S7 payload sweep: broadcast at a fixed rate with 100 B, 1 KB and 8 KB payloads. */
export async function s7Payloads(b: Bench): Promise<Point[]> {
  const n = b.scale.sweepConnections
  if (n === 0 || b.scale.payloads.length === 0) return []
  const { fleet } = await connectFleet(b, broadcastPlan, n)
  const points: Point[] = []
  for (const bytes of b.scale.payloads) {
    points.push(
      await step(b, fleet, 'S7', {
        label: bytes >= 1024 ? `${bytes / 1024}KB` : `${bytes}B`,
        rate: 100,
        count: Math.round((100 * b.scale.stepMs) / 1000),
        channels: ['all'],
        payloadBytes: bytes,
        plan: broadcastPlan,
        connections: n,
      }),
    )
  }
  await fleet.close()
  return points
}

export const SCENARIOS = {
  S1: s1Idle,
  S2: s2Broadcast,
  S3: s3SmallChannels,
  S4: s4Burst,
  S5: s5Slow,
  S6: s6Reconnect,
  S7: s7Payloads,
} as const
export type ScenarioName = keyof typeof SCENARIOS
