import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const serverBin = process.env.REDIS_SERVER_BIN ?? 'redis-server'
const cliBin = process.env.REDIS_CLI_BIN ?? 'redis-cli'

/** One node of a running test cluster, as `CLUSTER NODES` last said. */
export interface ClusterNode {
  port: number
  pid: number
  id: string
  role: 'master' | 'replica'
  /** Slot ranges `[first, last]` it serves (masters). */
  slots: Array<[number, number]>
  /** For a replica, the id of its master. */
  masterId: string | undefined
  alive: boolean
}

export interface RedisClusterProcess {
  /** `redis://127.0.0.1:<port>` of every node started (masters first). */
  urls: string[]
  /** The nodes, refreshed by {@link refresh} and after every fault helper. */
  nodes: ClusterNode[]
  /** Reads `CLUSTER NODES` again. */
  refresh(): Promise<ClusterNode[]>
  /** The master serving a slot, or the slot of a key (hash tags honoured). */
  masterOf(slotOrKey: number | string): Promise<ClusterNode>
  /**
   * SIGKILLs the master of a slot (or key) and waits until its replica took
   * over and the cluster is ok again; resolves to the new master's port.
   */
  killMaster(slotOrKey: number | string): Promise<number>
  /** A graceful `CLUSTER FAILOVER` by the replica of that slot's master; resolves to its port. */
  failover(slotOrKey: number | string): Promise<number>
  /**
   * Moves ONE slot and its keys to another master (the next one by
   * default), as `redis-cli --cluster reshard` does, while clients keep
   * working; resolves to the new owner's port.
   */
  migrateSlot(slotOrKey: number | string, toPort?: number): Promise<number>
  /** `INFO commandstats` of a node: calls per command (lowercase, `|` for subcommands). */
  commandStats(port: number): Promise<Record<string, number>>
  /** `CLIENT LIST` of a node, one record of fields per connection. */
  clientList(port: number): Promise<Array<Record<string, string>>>
  /** Kills every node and removes their folders. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const running = (child: ChildProcess | undefined) =>
  child !== undefined && child.exitCode === null && child.signalCode === null

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A port P with P and P + 10000 (its cluster bus) both free, never a standard one. */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 35000)
    if (taken.has(port) || taken.has(port + 10000) || taken.has(port - 10000)) continue
    if ((await canBind(port)) && (await canBind(port + 10000))) return port
  }
  throw new Error('no free pair of ports P and P+10000 for a cluster node')
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(cliBin, ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  })
  return stdout
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeout = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeout
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`redis cluster: ${what} within ${timeout} ms${last ? ` (${String(last)})` : ''}`)
}

function parseNodes(text: string, pids: ReadonlyMap<number, ChildProcess>): ClusterNode[] {
  const out: ClusterNode[] = []
  for (const line of text.trim().split('\n')) {
    const [id = '', address = '', flags = '', master = '', , , , , ...slots] = line
      .trim()
      .split(' ')
    const port = Number(address.split('@')[0]?.split(':')[1])
    const child = pids.get(port)
    out.push({
      port,
      pid: child?.pid ?? 0,
      id,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: master === '-' ? undefined : master,
      alive: !flags.includes('fail') && running(child),
      slots: slots
        .filter((s) => !s.startsWith('['))
        .map((s) => {
          const [a = '0', b] = s.split('-')
          return [Number(a), Number(b ?? a)] as [number, number]
        }),
    })
  }
  return out.sort((a, b) => a.port - b.port)
}

/**
 * Starts a real Redis Cluster on free ports of 127.0.0.1: `masters` masters
 * (default 3) with `replicasPerMaster` replicas each (default 1), nothing
 * persisted, node timeout 1 s so failovers take a few seconds. Resolves
 * once every node says `cluster_state:ok` and every replica is in sync.
 */
export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number } = {},
): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3
  const replicas = options.replicasPerMaster ?? 1
  const dir = mkdtempSync(join(tmpdir(), 'redisse-cluster-'))
  const procs = new Map<number, ChildProcess>()
  const taken = new Set<number>()
  const spawnNode = (port: number) => {
    const child = spawn(
      serverBin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--protected-mode',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '1000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--repl-diskless-sync',
        'yes',
        '--repl-diskless-sync-delay',
        '0',
        '--dir',
        dir,
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    )
    procs.set(port, child)
  }
  const stop = async () => {
    await Promise.all(
      [...procs.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (!running(child)) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGKILL')
          }),
      ),
    )
    rmSync(dir, { recursive: true, force: true })
    process.off('exit', killAll)
  }
  const killAll = () => {
    for (const child of procs.values()) child.kill('SIGKILL')
  }
  process.on('exit', killAll)
  try {
    const ports: number[] = []
    while (ports.length < masters * (1 + replicas)) {
      const port = await freeClusterPort(taken)
      taken.add(port)
      ports.push(port)
    }
    for (const port of ports) spawnNode(port)
    await Promise.all(
      ports.map((port) =>
        until(`node ${port} to answer PING`, async () =>
          (await cli(port, 'ping')).startsWith('PONG') ? true : undefined,
        ),
      ),
    )
    await run(
      cliBin,
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    )
    let nodes: ClusterNode[] = []
    const refresh = async () => {
      const alive = [...procs.entries()].find(([, c]) => running(c))
      if (!alive) throw new Error('redis cluster: no node left')
      nodes = parseNodes(await cli(alive[0], 'cluster', 'nodes'), procs)
      handle.nodes = nodes
      return nodes
    }
    const healthy = (what: string) =>
      until(what, async () => {
        for (const [port, child] of procs) {
          if (!running(child)) continue
          if (!(await cli(port, 'cluster', 'info')).includes('cluster_state:ok')) return undefined
          const replication = await cli(port, 'info', 'replication')
          if (
            replication.includes('role:slave') &&
            !replication.includes('master_link_status:up')
          ) {
            return undefined
          }
        }
        const current = await refresh()
        const covered = current
          .filter((n) => n.role === 'master' && n.alive)
          .reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0)
        return covered === 16384 ? current : undefined
      })
    const slotOf = async (slotOrKey: number | string) =>
      typeof slotOrKey === 'number'
        ? slotOrKey
        : // Any live node hashes keys alike; the first one started may be the one a test killed.
          Number(
            await cli(
              nodes.find((n) => n.alive)?.port ?? ports[0] ?? 0,
              'cluster',
              'keyslot',
              slotOrKey,
            ),
          )
    const masterOf = async (slotOrKey: number | string) => {
      const slot = await slotOf(slotOrKey)
      const current = await refresh()
      const owner = current.find(
        (n) => n.role === 'master' && n.alive && n.slots.some(([a, b]) => slot >= a && slot <= b),
      )
      if (!owner) throw new Error(`redis cluster: no live master serves slot ${slot}`)
      return owner
    }
    const handle: RedisClusterProcess = {
      urls: [],
      nodes,
      refresh,
      masterOf,
      async killMaster(slotOrKey) {
        const slot = await slotOf(slotOrKey)
        const old = await masterOf(slot)
        const child = procs.get(old.port)
        await new Promise<void>((resolve) => {
          if (!child || !running(child)) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGKILL')
        })
        const promoted = await until(`a replica to take slot ${slot} over`, async () => {
          const owner = await masterOf(slot).catch(() => undefined)
          return owner && owner.port !== old.port ? owner : undefined
        })
        await healthy(`the cluster to be ok after killing ${old.port}`)
        return promoted.port
      },
      async failover(slotOrKey) {
        const slot = await slotOf(slotOrKey)
        const old = await masterOf(slot)
        const replica = nodes.find((n) => n.masterId === old.id && n.alive)
        if (!replica) throw new Error(`redis cluster: the master of slot ${slot} has no replica`)
        await cli(replica.port, 'cluster', 'failover')
        await until(`${replica.port} to take slot ${slot} over`, async () =>
          (await masterOf(slot)).port === replica.port ? true : undefined,
        )
        await healthy('the cluster to be ok after the failover')
        return replica.port
      },
      async migrateSlot(slotOrKey, toPort) {
        const slot = await slotOf(slotOrKey)
        const from = await masterOf(slot)
        const live = nodes.filter((n) => n.role === 'master' && n.alive)
        const to =
          toPort === undefined
            ? live[(live.findIndex((n) => n.port === from.port) + 1) % live.length]
            : live.find((n) => n.port === toPort)
        if (!to || to.port === from.port)
          throw new Error(`redis cluster: no other master to move slot ${slot} to`)
        const s = String(slot)
        await cli(to.port, 'cluster', 'setslot', s, 'importing', from.id)
        await cli(from.port, 'cluster', 'setslot', s, 'migrating', to.id)
        for (;;) {
          const keys = (await cli(from.port, 'cluster', 'getkeysinslot', s, '100'))
            .split('\n')
            .filter((k) => k.length > 0)
          if (keys.length === 0) break
          await cli(
            from.port,
            'migrate',
            '127.0.0.1',
            String(to.port),
            '',
            '0',
            '5000',
            'REPLACE',
            'KEYS',
            ...keys,
          )
        }
        // The target first, as redis-cli does, so no client is sent back and forth.
        await cli(to.port, 'cluster', 'setslot', s, 'node', to.id)
        await cli(from.port, 'cluster', 'setslot', s, 'node', to.id)
        for (const n of live) {
          if (n.port !== to.port && n.port !== from.port)
            await cli(n.port, 'cluster', 'setslot', s, 'node', to.id)
        }
        await until(`slot ${slot} to be served by ${to.port}`, async () =>
          (await masterOf(slot)).port === to.port ? true : undefined,
        )
        return to.port
      },
      async commandStats(port) {
        const calls: Record<string, number> = {}
        for (const m of (await cli(port, 'info', 'commandstats')).matchAll(
          /cmdstat_([a-z|_-]+):calls=(\d+)/g,
        )) {
          calls[m[1] ?? ''] = Number(m[2])
        }
        return calls
      },
      async clientList(port) {
        return (await cli(port, 'client', 'list'))
          .trim()
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) =>
            Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string])),
          )
      },
      stop,
      [Symbol.asyncDispose]: stop,
    }
    await healthy('every node to be ok and every slot served')
    handle.urls = nodes
      .slice()
      .sort((a, b) => (a.role === b.role ? a.port - b.port : a.role === 'master' ? -1 : 1))
      .map((n) => `redis://127.0.0.1:${n.port}`)
    return handle
  } catch (err) {
    await stop()
    throw err
  }
}
