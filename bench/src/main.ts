/**
 * `pnpm bench [--quick] [--reps N] [--peers a,b] [--scenarios S1,S2]`:
 * starts each peer in turn (random order per repetition, a fresh
 * redis-server each), runs the scenarios against it with our own load
 * generator, and writes the table, `results/<date>.json` and the SVG chart.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort, startRedis } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { PublisherProcess } from './loadFleet'
import { PEERS, pinCommand, redisseAt } from './peers'
import { aggregate, type RunRecord, writeOutputs } from './report'
import { type Bench, FULL, type Point, QUICK, SCENARIOS, type ScenarioName } from './scenarios'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    peers: { type: 'string' },
    scenarios: { type: 'string' },
    out: { type: 'string' },
    before: { type: 'string' },
    conns: { type: 'string' },
    from: { type: 'string' },
  },
  strict: true,
})

const base = values.quick ? QUICK : FULL
// `--conns N` scales the 10k-connection scenarios (S1, S2, S3, S6) to N.
const scale =
  values.conns === undefined
    ? base
    : {
        ...base,
        idleConnections: Number(values.conns),
        broadcastConnections: Number(values.conns),
        smallChannelConnections: Number(values.conns),
        reconnectConnections: base.reconnectConnections > 0 ? Number(values.conns) : 0,
      }
const reps = Number(values.reps ?? (values.quick ? 1 : 3))
const scenarioNames = (values.scenarios?.split(',') ??
  (values.quick ? ['S1', 'S2', 'S3', 'S4'] : Object.keys(SCENARIOS))) as ScenarioName[]
const wanted = values.peers?.split(',')
// `--before <commit>` adds Redisse as of that commit, to measure engine changes in one run.
if (values.before) {
  PEERS.push(
    redisseAt(values.before, false),
    redisseAt(values.before, false, 'redisse-ws'),
    redisseAt(values.before, true),
  )
}
const cores = availableParallelism()

// The load (this process, its workers, the publisher and Redis) lives on
// core 1; each server under test is started on core 0.
const serverPin = pinCommand(0, cores)
if (serverPin.length > 0) {
  execFileSync('taskset', ['-a', '-pc', '1', String(process.pid)], { stdio: 'ignore' })
}

function shuffle<T>(list: T[]): T[] {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Stops what is running now (peer, its Redis) when the harness is interrupted. */
const cleanups = new Set<() => Promise<void>>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the peer under test`)
    void Promise.allSettled([...cleanups].map((stop) => stop())).then(() => process.exit(130))
  })
}

async function runPeer(peerName: string, rep: number): Promise<Point[]> {
  const peer = PEERS.find((p) => p.name === peerName)!
  const redis = await startRedis()
  const stopRedis = () => redis.stop()
  cleanups.add(stopRedis)
  const port = await freePort()
  const tmp = mkdtempSync(join(tmpdir(), `bench-${peer.name}-`))
  const points: Point[] = []
  const counter = new Redis(redis.url)
  let addressBase = 10
  try {
    const running = await peer.start({
      port,
      redisUrl: redis.url,
      keepAliveMs: 5000,
      tmp,
      pin: serverPin,
    })
    cleanups.add(running.stop)
    const publisher = new PublisherProcess(running.publish)
    const bench: Bench = {
      peer,
      running,
      port,
      publisher,
      scale,
      loadCore: serverPin.length > 0 ? 1 : undefined,
      nextAddressBase: () => {
        const base = addressBase
        addressBase += 4
        return base
      },
      redisCommands: async () => {
        const info = await counter.info('stats')
        return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0)
      },
    }
    try {
      for (const name of scenarioNames) {
        const started = Date.now()
        const got = await SCENARIOS[name](bench)
        for (const p of got) {
          console.log(
            `  rep ${rep + 1} ${peer.name.padEnd(13)} ${p.scenario} ${p.label.padEnd(10)} ${Math.round(p.eventsPerSec)} ev/s p99 ${p.p99.toFixed(1)} ms loss ${p.loss}${p.clientBound ? ' client-bound' : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
          )
        }
        points.push(...got)
      }
    } finally {
      await publisher.close()
      await running.stop()
      cleanups.delete(running.stop)
    }
  } catch (err) {
    console.log(`  ${peer.name}: failed: ${String(err).slice(0, 400)}`)
  } finally {
    counter.disconnect()
    await redis.stop()
    cleanups.delete(stopRedis)
    rmSync(tmp, { recursive: true, force: true })
  }
  return points
}

/** `--from results/<date>.json`: the table, ratios and chart again from a run's records. */
function reportFrom(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    runs: RunRecord[]
    reps: number
    quick: boolean
    scale: typeof scale
    machine: Record<string, unknown>
    seconds: number
  }
  const stamp = basename(file, '.json')
  writeOutputs({ ...saved, rows: aggregate(saved.runs), stamp, out: resolve(dirname(file)) })
}

async function main(): Promise<void> {
  if (values.from) {
    reportFrom(values.from)
    return
  }
  const started = Date.now()
  const peers: string[] = []
  for (const peer of PEERS) {
    if (wanted && !wanted.includes(peer.name)) continue
    const missing = peer.missing()
    if (missing) console.log(`SKIP ${peer.name}: ${missing}`)
    else peers.push(peer.name)
  }
  console.log(
    `bench: ${values.quick ? 'quick' : 'full'} set, ${reps} repetition(s), peers ${peers.join(', ')}, scenarios ${scenarioNames.join(', ')}, ${cores} cores${serverPin.length > 0 ? ' (server on core 0, load on core 1)' : ' (no pinning)'}`,
  )
  const runs: RunRecord[] = []
  const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-')
  for (let rep = 0; rep < reps; rep++) {
    for (const peer of shuffle(peers)) {
      runs.push({ peer, rep, points: await runPeer(peer, rep) })
    }
    // Written after every repetition, so a run cut short still leaves its figures.
    report(runs, rep + 1, started, stamp)
  }
}

function report(runs: RunRecord[], repsDone: number, started: number, stamp: string): void {
  const rows = aggregate(runs)
  writeOutputs({
    rows,
    runs,
    stamp,
    quick: values.quick ?? false,
    reps: repsDone,
    scale,
    machine: {
      cores,
      cpu: cpus()[0]?.model ?? 'unknown',
      memGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      pinned: serverPin.length > 0,
    },
    seconds: (Date.now() - started) / 1000,
    ...(values.out === undefined ? {} : { out: values.out }),
  })
}

await main()
process.exit(0)
