import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SubscribeStyle } from './messages'
import type { PublishTarget } from './peerPublishers'
import { stopChild } from './stopChild'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx'
const NCHAN = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so'
const PUBLISH_KEY = 'bench-publish-key'

/** Where and how a peer runs. */
export interface PeerContext {
  port: number
  redisUrl: string
  keepAliveMs: number
  tmp: string
  /** Prefix of the command that pins the server to its core (`taskset -c 0`), or none. */
  pin: string[]
}

/** A peer started by the harness. */
export interface RunningPeer {
  /** Root of its process tree (CPU and RSS are summed over the tree). */
  pid: number
  publish: PublishTarget
  stop(): Promise<void>
}

/** One system under test. */
export interface Peer {
  name: string
  style: SubscribeStyle
  /** Resumes a stream from Last-Event-ID without loss (history). */
  resumes: boolean
  /** Why this machine cannot run it, or undefined. */
  missing(): string | undefined
  start(ctx: PeerContext): Promise<RunningPeer>
}

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000
  return new Promise((resolve, reject) => {
    const probe = () => {
      if (child.exitCode !== null) {
        reject(new Error(`exited with ${child.exitCode}: ${log()}`))
        return
      }
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => {
        socket.destroy()
        resolve()
      })
      socket.once('error', () => {
        socket.destroy()
        if (Date.now() > deadline) reject(new Error(`port ${port} never opened: ${log()}`))
        else setTimeout(probe, 100)
      })
    }
    probe()
  })
}

async function launch(
  ctx: PeerContext,
  command: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const [bin, ...args] = [...ctx.pin, ...command]
  const child = spawn(bin!, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  await waitForPort(ctx.port, child, () => log)
  const stop = () => stopChild(child, () => child.kill('SIGTERM'), 5000)
  return { child, stop }
}

const nodeSource = ['node', '--conditions=@redisse/source', '--import', 'tsx']

/**
 * Redisse's CLI as of `ref` (a commit), extracted next to the live sources so
 * it resolves the same dependencies: before/after runs of the engine. Its
 * tests are left out, so the server's test run never picks them up.
 */
export function redisseAt(ref: string, withRedis: boolean, style: RedisseStyle = 'redisse'): Peer {
  const dir = join(repo, 'packages', 'server', '.bench-before', ref.replace(/[^\w.-]/g, '_'))
  if (!existsSync(join(dir, 'src', 'cli.ts'))) {
    mkdirSync(dir, { recursive: true })
    execFileSync(
      'sh',
      [
        '-c',
        `git archive ${JSON.stringify(ref)} src | tar -x -C ${JSON.stringify(dir)} && find ${JSON.stringify(dir)} -name '*.test.ts' -delete`,
      ],
      {
        cwd: join(repo, 'packages', 'server'),
      },
    )
  }
  return redisse(
    `redisse-before${withRedis ? '-redis' : ''}${style === 'redisse-ws' ? '-ws' : ''}`,
    withRedis,
    style,
    join(dir, 'src', 'cli.ts'),
  )
}

/**
 * Extra node flags for the Redisse server process, from
 * `BENCH_REDISSE_NODE_ARGS` (split on spaces), e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` to profile the server under a scenario.
 */
function redisseNodeArgs(): string[] {
  return (process.env.BENCH_REDISSE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
}

/** Redisse's streams over SSE, or over WebSocket on the same server. */
type RedisseStyle = Extract<SubscribeStyle, 'redisse' | 'redisse-ws'>

function redisse(
  name: string,
  withRedis: boolean,
  style: RedisseStyle = 'redisse',
  cli = 'packages/server/src/cli.ts',
  /** `--workers`: above 1 the server and its workers may use every core (see {@link everyCorePin}). */
  workers = 1,
  /** How node runs `cli`: from source through tsx, or plain node for the built CLI. */
  runner = nodeSource,
  missing: () => string | undefined = () => undefined,
): Peer {
  return {
    name,
    style,
    resumes: true,
    missing,
    async start(ctx) {
      const config = join(ctx.tmp, 'redisse.config.mjs')
      writeFileSync(
        config,
        'export default { limits: { connections: 100000, connectionsPerSubject: 100000 } }\n',
      )
      const { child, stop } = await launch(
        workers > 1 ? { ...ctx, pin: everyCorePin(ctx.pin, availableParallelism()) } : ctx,
        [
          ...runner,
          ...redisseNodeArgs(),
          cli,
          ...(workers > 1 ? ['--workers', String(workers)] : []),
          '--port',
          String(ctx.port),
          '--host',
          '127.0.0.1',
          '--public',
          '--publish-key',
          PUBLISH_KEY,
          '--keep-alive',
          String(ctx.keepAliveMs / 1000),
          '--log-level',
          'warn',
          '--config',
          config,
          ...(withRedis ? ['--redis', ctx.redisUrl] : []),
        ],
        {},
      )
      return {
        pid: child.pid!,
        publish: withRedis
          ? { via: 'redisse-redis', redisUrl: ctx.redisUrl }
          : { via: 'redisse-http', port: ctx.port, key: PUBLISH_KEY },
        stop,
      }
    },
  }
}

function nodePeer(
  name: string,
  script: string,
  style: SubscribeStyle,
  via: 'redis-publish' | 'socketio-emitter',
  module: string,
): Peer {
  return {
    name,
    style,
    resumes: false,
    missing: () =>
      existsSync(join(here, '..', 'node_modules', module))
        ? undefined
        : `npm package ${module} not installed (pnpm install in bench/)`,
    async start(ctx) {
      const { child, stop } = await launch(
        ctx,
        [...nodeSource, join('bench/src/servers', script)],
        {
          PORT: String(ctx.port),
          REDIS_URL: ctx.redisUrl,
          KEEPALIVE_MS: String(ctx.keepAliveMs),
        },
      )
      return { pid: child.pid!, publish: { via, redisUrl: ctx.redisUrl }, stop }
    },
  }
}

function nginxConfig(ctx: PeerContext): string {
  const redisPort = new URL(ctx.redisUrl).port
  return `load_module ${NCHAN};
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid ${ctx.tmp}/nginx.pid;
error_log ${ctx.tmp}/error.log warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path ${ctx.tmp}/body;
  proxy_temp_path ${ctx.tmp}/proxy;
  fastcgi_temp_path ${ctx.tmp}/fastcgi;
  uwsgi_temp_path ${ctx.tmp}/uwsgi;
  scgi_temp_path ${ctx.tmp}/scgi;
  upstream bus { nchan_redis_server redis://127.0.0.1:${redisPort}; }
  server {
    listen 127.0.0.1:${ctx.port};
    location = /sub {
      nchan_subscriber eventsource;
      nchan_channel_id $arg_c;
      nchan_channel_id_split_delimiter ",";
      nchan_redis_pass bus;
      nchan_eventsource_ping_interval ${Math.round(ctx.keepAliveMs / 1000)};
      nchan_eventsource_ping_comment "";
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id $arg_c;
      nchan_redis_pass bus;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 1h;
    }
  }
}
`
}

const nchan: Peer = {
  name: 'nchan',
  style: 'nchan',
  resumes: true,
  missing() {
    if (!existsSync(NGINX))
      return `nginx not found at ${NGINX} (apt-get install nginx libnginx-mod-nchan)`
    if (!existsSync(NCHAN))
      return `Nchan module not found at ${NCHAN} (apt-get install libnginx-mod-nchan)`
    return undefined
  },
  async start(ctx) {
    const prefix = join(ctx.tmp, 'nginx')
    mkdirSync(prefix, { recursive: true })
    const conf = join(prefix, 'nginx.conf')
    writeFileSync(conf, nginxConfig({ ...ctx, tmp: prefix }))
    const { child, stop } = await launch(
      ctx,
      [NGINX, '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')],
      {},
    )
    return { pid: child.pid!, publish: { via: 'nchan-http', port: ctx.port }, stop }
  },
}

const builtCli = join(repo, 'packages', 'server', 'dist', 'cli.js')

function newestIn(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Why the built CLI cannot stand for the sources: not built, or built before the last edit. */
function builtMissing(): string | undefined {
  if (!existsSync(builtCli))
    return 'packages/server/dist not built (pnpm --filter "@redisse/server..." build)'
  const built = statSync(builtCli).mtimeMs
  for (const pkg of ['server', 'protocol', 'publisher']) {
    if (newestIn(join(repo, 'packages', pkg, 'src')) > built) {
      return `packages/${pkg}/src changed since the last build (pnpm --filter "@redisse/server..." build)`
    }
  }
  return undefined
}

/**
 * Redisse as users run it: the `redisse-server` of the package's dist, on
 * plain node (no tsx transform, whose keepNames costs every named closure
 * a property).
 */
function redisseBuilt(name: string, withRedis: boolean): Peer {
  return redisse(name, withRedis, 'redisse', builtCli, 1, ['node'], builtMissing)
}

const raw = nodePeer('raw-net', 'rawSseServer.ts', 'query', 'redis-publish', 'ioredis')
/** The peers in the order; the harness shuffles them per repetition. */
export const PEERS: Peer[] = [
  redisse('redisse', false),
  redisse('redisse-redis', true),
  redisse('redisse-redis-w2', true, 'redisse', undefined, 2),
  redisseBuilt('redisse-dist', false),
  redisseBuilt('redisse-redis-dist', true),
  redisse('redisse-ws', false, 'redisse-ws'),
  nodePeer('better-sse', 'betterSseServer.ts', 'query', 'redis-publish', 'better-sse'),
  nodePeer('socket.io', 'socketIoServer.ts', 'socketio', 'socketio-emitter', 'socket.io'),
  nchan,
  raw,
]

/** `taskset -c <core>` when taskset exists and the machine has two or more cores. */
export function pinCommand(core: number, cores: number): string[] {
  if (cores < 2) return []
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' })
    return ['taskset', '-c', String(core)]
  } catch {
    return []
  }
}

/**
 * The pin of a server whose workers may use every core. Not an empty
 * prefix: the harness runs on the load's core, a child inherits its
 * parent's affinity, and a server started without a pin of its own ran
 * with all its workers on the load's core (the 2-worker S2 figures of
 * December 2 measured that).
 * @param pin the single-core pin the harness gives servers (`[]` when it pins nothing)
 */
export function everyCorePin(pin: readonly string[], cores: number): string[] {
  if (pin.length === 0) return []
  return ['taskset', '-c', `0-${cores - 1}`]
}
