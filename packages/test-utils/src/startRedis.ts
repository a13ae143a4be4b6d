import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './freePort'

export interface RedisProcess {
  url: string
  port: number
  /** `rediss://` address when started with `tls` (the plain port stays open too). */
  tlsUrl?: string
  /** Kills the server (SIGKILL when `hard`, as a crash would) and waits for it to exit. */
  stop(options?: { hard?: boolean }): Promise<void>
  /** Starts it again on the same port: empty, or with its data when started with `persist`. */
  restart(): Promise<void>
  /** Process id of the running server (it changes on restart). */
  readonly pid: number
  /** Stalls the server (SIGSTOP): connections stay open and nothing is answered, as with a hung host. */
  pause(): void
  /** Lets a paused server run again (SIGCONT). */
  resume(): void
}

const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'

/** PEM files a TLS-enabled redis-server serves with. */
export interface TlsFiles {
  certFile: string
  keyFile: string
}

function spawnRedis(
  port: number,
  tls?: TlsFiles & { port: number },
  dataDir?: string,
  extra: readonly string[] = [],
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...(dataDir
          ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir]
          : ['--appendonly', 'no']),
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
        ...(tls
          ? [
              '--tls-port',
              String(tls.port),
              '--tls-cert-file',
              tls.certFile,
              '--tls-key-file',
              tls.keyFile,
              '--tls-auth-clients',
              'no',
            ]
          : []),
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start on port ${port}: ${output}`))
    }, 10_000)
    const probe = setInterval(async () => {
      if (await ping(port)) {
        clearInterval(probe)
        clearTimeout(timer)
        resolve(child)
      }
    }, 20)
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', (err) => {
      clearInterval(probe)
      clearTimeout(timer)
      reject(
        new Error(`cannot run ${bin} (install redis-server or set REDIS_SERVER_BIN)`, {
          cause: err,
        }),
      )
    })
    child.on('exit', (code) => {
      clearInterval(probe)
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}: ${output}`))
    })
  })
}

async function ping(port: number): Promise<boolean> {
  const { connect } = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(200)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      socket.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
    socket.on('error', () => resolve(false))
    socket.on('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/**
 * Starts a throw-away `redis-server` on a free port of 127.0.0.1, never the
 * standard port 6379; with `tls`, also a TLS port. Without `persist` it keeps
 * nothing (a restart comes back empty); with it, every write is in an
 * append-only file fsynced at once, so even a SIGKILL loses nothing. With
 * `replicaOf` it replicates that port (through a `startTcpProxy` to make
 * the link lag or fail).
 */
export async function startRedis(
  options: {
    tls?: TlsFiles
    persist?: boolean
    /** Starts a replica of the Redis (or TCP proxy) at this port of 127.0.0.1. */
    replicaOf?: number
  } = {},
): Promise<RedisProcess> {
  let port = await freePort()
  const tls = options.tls ? { ...options.tls, port: await freePort() } : undefined
  const dataDir = options.persist ? mkdtempSync(join(tmpdir(), 'redisse-redis-')) : undefined
  // A replica writes the snapshot it syncs from: into a folder of its own.
  const extra =
    options.replicaOf === undefined
      ? []
      : [
          '--replicaof',
          '127.0.0.1',
          String(options.replicaOf),
          ...(dataDir ? [] : ['--dir', mkdtempSync(join(tmpdir(), 'redisse-replica-'))]),
        ]
  let child: ChildProcess | undefined
  for (let attempt = 0; !child; attempt++) {
    try {
      child = await spawnRedis(port, tls, dataDir, extra)
    } catch (err) {
      if (attempt >= 3) throw err
      port = await freePort()
    }
  }
  const stop = async ({ hard = false } = {}) => {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    await new Promise<void>((resolve) => {
      current.once('exit', () => resolve())
      current.kill(hard ? 'SIGKILL' : 'SIGTERM')
      // A paused server only acts on SIGTERM once it runs again.
      if (!hard) current.kill('SIGCONT')
    })
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    ...(tls ? { tlsUrl: `rediss://127.0.0.1:${tls.port}` } : {}),
    get pid() {
      return child?.pid ?? 0
    },
    pause() {
      child?.kill('SIGSTOP')
    },
    resume() {
      child?.kill('SIGCONT')
    },
    stop,
    async restart() {
      await stop({ hard: true })
      child = await spawnRedis(port, tls, dataDir, extra)
    },
  }
}
