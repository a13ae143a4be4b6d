/**
 * What one idle SSE stream holds on the server's heap: starts the Redisse
 * CLI (embedded broker, or `--redis` on a fresh redis-server), takes a heap
 * snapshot after a few warm-up streams and another once N more idle streams
 * are open (S1's channel plan: shared, personal, group of 10), and prints
 * the difference per object type, per stream, biggest first.
 *
 *   node --conditions=@redisse/source --import tsx scripts/streamHeap.ts [--redis] [--built] [--n 10000] [--top 40]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort, startRedis } from '@redisse/test-utils'

const { values } = parseArgs({
  options: {
    redis: { type: 'boolean', default: false },
    n: { type: 'string', default: '10000' },
    top: { type: 'string', default: '40' },
    keep: { type: 'boolean', default: false },
    /** No snapshots: RSS and V8's heap spaces before and after, as S1 sees them. */
    stats: { type: 'boolean', default: false },
    /** Streams opened before the first measure (0: from a fresh server, as S1 does). */
    warm: { type: 'string', default: '200' },
    /** With --stats: a full GC before each measure, so only what is alive counts. */
    gc: { type: 'boolean', default: false },
    /** The raw-net floor (src/servers/rawSseServer.ts) instead of Redisse; implies --redis. */
    raw: { type: 'boolean', default: false },
    /** The built CLI (packages/server/dist/cli.js) on plain node, as users run it. */
    built: { type: 'boolean', default: false },
  },
})
const n = Number(values.n)
const repo = resolve(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'stream-heap-'))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// The default limits would refuse this many streams from one address (as in the bench's peers).
const config = join(dir, 'redisse.config.mjs')
writeFileSync(
  config,
  'export default { limits: { connections: 100000, connectionsPerSubject: 100000 } }\n',
)
const redis = values.redis || values.raw ? await startRedis() : undefined
const port = await freePort()
const server = spawn(
  'node',
  [
    ...(values.stats
      ? [
          ...(values.gc ? ['--expose-gc'] : []),
          '--import',
          join(import.meta.dirname, 'memStats.mjs'),
        ]
      : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`]),
    ...(values.built ? [] : ['--conditions=@redisse/source', '--import', 'tsx']),
    ...(values.raw
      ? ['bench/src/servers/rawSseServer.ts']
      : [
          values.built ? 'packages/server/dist/cli.js' : 'packages/server/src/cli.ts',
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          '--public',
          '--keep-alive',
          '5',
          '--log-level',
          'warn',
          '--config',
          config,
          ...(redis ? ['--redis', redis.url] : []),
        ]),
  ],
  {
    cwd: repo,
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, PORT: String(port), REDIS_URL: redis?.url, KEEPALIVE_MS: '5000' },
  },
)
const statsLines: string[] = []
server.stderr!.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n')) {
    if (line.startsWith('MEMSTATS ')) statsLines.push(line.slice(9))
    else if (line !== '' && !line.includes('"level"')) process.stderr.write(`${line}\n`)
  }
})

interface MemStats {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
  spaces: Record<string, { size: number; used: number }>
}

async function stats(): Promise<MemStats> {
  const seen = statsLines.length
  server.kill('SIGUSR2')
  while (statsLines.length === seen) await sleep(50)
  return JSON.parse(statsLines[seen]!) as MemStats
}

async function waitForPort(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((done) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        done(true)
      })
      s.once('error', () => done(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error('server did not listen')
}

const sockets: Socket[] = []
/** Opens streams `from`..`to`-1 and resolves once each got its `:ok`. */
async function open(from: number, to: number): Promise<void> {
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      await new Promise<void>((done, fail) => {
        const s = connect(port, '127.0.0.1')
        let seen = ''
        const onData = (chunk: Buffer) => {
          seen += chunk.toString('latin1')
          if (seen.includes(':ok')) {
            // raw-net sends :ok with its headers, Redisse once the channels are live.
            s.off('data', onData)
            s.on('data', () => {})
            done()
          } else if (seen.startsWith('HTTP/1.1 ') && !seen.startsWith('HTTP/1.1 200')) {
            fail(new Error(seen.slice(0, 300)))
          }
        }
        s.on('data', onData)
        s.once('error', fail)
        s.write(
          `GET ${values.raw ? `/?c=all,u${i},g${Math.floor(i / 10)}` : `/?channel=all&channel=u${i}&channel=g${Math.floor(i / 10)}`} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
        )
        sockets.push(s)
      })
    }
  }
  // As many connects in flight as the bench's fleet keeps.
  await Promise.all(Array.from({ length: 200 }, worker))
}

function rssKB(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1])
}

async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir))
  server.kill('SIGUSR2')
  for (;;) {
    await sleep(500)
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f))
    if (!file) continue
    const path = join(dir, file)
    const size = statSync(path).size
    await sleep(1000)
    if (statSync(path).size === size && size > 0) return path
  }
}

interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[]
      node_types: [string[]]
      edge_fields: string[]
      edge_types: [string[]]
    }
  }
  nodes: number[]
  edges: number[]
  strings: string[]
}

function read(path: string): HeapSnapshot {
  return JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot
}

function kindOf(snap: HeapSnapshot, i: number): string {
  const fields = snap.snapshot.meta.node_fields
  const type = snap.snapshot.meta.node_types[0][snap.nodes[i + fields.indexOf('type')]!]!
  const named =
    type === 'object' ||
    type === 'closure' ||
    type === 'native' ||
    type === 'hidden' ||
    type === 'array'
  return named
    ? `${type}:${snap.strings[snap.nodes[i + fields.indexOf('name')]!]!.slice(0, 60)}`
    : type
}

/** Ids of every node in a snapshot (stable across snapshots of one process). */
function idsOf(snap: HeapSnapshot): Set<number> {
  const width = snap.snapshot.meta.node_fields.length
  const idAt = snap.snapshot.meta.node_fields.indexOf('id')
  const ids = new Set<number>()
  for (let i = 0; i < snap.nodes.length; i += width) ids.add(snap.nodes[i + idAt]!)
  return ids
}

/**
 * Bytes of the objects new in `snap` (not in `old`), grouped by the kind of
 * their first new retainer and the edge that holds them: `Socket._events ->
 * array:(object properties)` says whose fields cost what.
 */
function owners(
  snap: HeapSnapshot,
  old: Set<number>,
): Map<string, { bytes: number; count: number }> {
  const { node_fields, edge_fields, edge_types } = snap.snapshot.meta
  const width = node_fields.length
  const idAt = node_fields.indexOf('id')
  const sizeAt = node_fields.indexOf('self_size')
  const edgeCountAt = node_fields.indexOf('edge_count')
  const ew = edge_fields.length
  const eType = edge_fields.indexOf('type')
  const eName = edge_fields.indexOf('name_or_index')
  const eTo = edge_fields.indexOf('to_node')
  const owner = new Map<number, string>()
  let e = 0
  for (let i = 0; i < snap.nodes.length; i += width) {
    const count = snap.nodes[i + edgeCountAt]!
    const fresh = !old.has(snap.nodes[i + idAt]!)
    for (let k = 0; k < count; k++, e += ew) {
      const to = snap.edges[e + eTo]!
      if (!fresh || owner.has(to)) continue
      const type = edge_types[0][snap.edges[e + eType]!]
      if (type === 'weak' || type === 'shortcut') continue
      const nameOrIndex = snap.edges[e + eName]!
      const name =
        type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : snap.strings[nameOrIndex]
      owner.set(to, `${kindOf(snap, i)} .${String(name).slice(0, 40)}`)
    }
  }
  const grouped = new Map<string, { bytes: number; count: number }>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    if (old.has(snap.nodes[i + idAt]!)) continue
    const key = `${owner.get(i) ?? '(root)'} -> ${kindOf(snap, i)}`
    const entry = grouped.get(key) ?? { bytes: 0, count: 0 }
    entry.bytes += snap.nodes[i + sizeAt]!
    entry.count += 1
    grouped.set(key, entry)
  }
  return grouped
}

/** Self size and count per object kind. */
function tally(path: string): Map<string, { bytes: number; count: number }> {
  const snap = read(path)
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const byKind = new Map<string, { bytes: number; count: number }>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!
    const named =
      type === 'object' ||
      type === 'closure' ||
      type === 'native' ||
      type === 'hidden' ||
      type === 'array'
    const kind = named ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60)}` : type
    const entry = byKind.get(kind) ?? { bytes: 0, count: 0 }
    entry.bytes += snap.nodes[i + sizeAt]!
    entry.count += 1
    byKind.set(kind, entry)
  }
  return byKind
}

try {
  await waitForPort()
  const warm = Number(values.warm)
  await open(0, warm)
  await sleep(2000)
  if (values.stats) {
    const a = await stats()
    await open(warm, warm + n)
    // As S1: a second after the last connect, then 8 s idle.
    await sleep(9000)
    const b = await stats()
    const per = (x: number, y: number) => `${((y - x) / n).toFixed(0).padStart(6)} B/stream`
    console.log(
      `${n} idle streams (${values.raw ? 'raw-net' : redis ? 'redis' : 'embedded'}), growth per stream:`,
    )
    for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const) {
      console.log(`  ${key.padEnd(24)} ${per(a[key], b[key])}`)
    }
    console.log(
      `  ${'rss - heapTotal'.padEnd(24)} ${per(a.rss - a.heapTotal, b.rss - b.heapTotal)}`,
    )
    for (const [space, s] of Object.entries(b.spaces)) {
      const was = a.spaces[space] ?? { size: 0, used: 0 }
      console.log(
        `  ${space.padEnd(24)} ${per(was.size, s.size)} committed, ${per(was.used, s.used)} used`,
      )
    }
  } else {
    const rss0 = rssKB()
    const a = await snapshot()
    await open(warm, warm + n)
    await sleep(3000)
    const rss1 = rssKB()
    const b = await snapshot()
    const before = tally(a)
    const after = tally(b)
    const oldIds = idsOf(read(a))
    const byOwner = [...owners(read(b), oldIds)].sort((x, y) => y[1].bytes - x[1].bytes)
    const rows = [...after].map(([kind, { bytes, count }]) => {
      const was = before.get(kind) ?? { bytes: 0, count: 0 }
      return { kind, bytes: (bytes - was.bytes) / n, count: (count - was.count) / n }
    })
    rows.sort((x, y) => y.bytes - x.bytes)
    const heap = rows.reduce((sum, r) => sum + r.bytes, 0)
    console.log(
      `${n} idle streams (${values.raw ? 'raw-net' : redis ? 'redis' : 'embedded'}): RSS +${((rss1 - rss0) / n).toFixed(2)} KB/stream (snapshots taken after), JS heap +${heap.toFixed(0)} B/stream`,
    )
    console.log('B/stream  objs/stream  kind')
    for (const r of rows.filter((r) => Math.abs(r.bytes) >= 1).slice(0, Number(values.top))) {
      console.log(
        `${r.bytes.toFixed(0).padStart(8)}  ${r.count.toFixed(2).padStart(11)}  ${r.kind}`,
      )
    }
    console.log('\nnew objects by first retainer: B/stream  objs/stream  owner .edge -> kind')
    for (const [key, { bytes, count }] of byOwner.slice(0, Number(values.top))) {
      console.log(
        `${(bytes / n).toFixed(0).padStart(8)}  ${(count / n).toFixed(2).padStart(11)}  ${key}`,
      )
    }
  }
} finally {
  for (const s of sockets) s.destroy()
  server.kill('SIGTERM')
  await redis?.stop()
  if (!values.keep) rmSync(dir, { recursive: true, force: true })
  else console.log(`snapshots kept in ${dir}`)
}
