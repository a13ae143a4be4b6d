import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '@redisse/test-utils'

const demoDir = fileURLToPath(new URL('../../apps/demo', import.meta.url))
/** `/events/stats` is off without a key: the e2e demo nodes get this one. */
const E2E_STATS_KEY = 'e2e-stats-key'

/** One demo server process, which a test can kill and start again on the same port. */
export interface DemoNode {
  url: string
  port: number
  /** Stops the process: SIGKILL when `hard` (a crash), else SIGTERM (graceful). */
  stop(options?: { hard?: boolean }): Promise<void>
  /** Starts it again on the same port, with the same Redis. */
  start(): Promise<void>
  /** Stops and starts it. */
  restart(options?: { hard?: boolean }): Promise<void>
  /** `GET /events/stats` of this node (Redisse's figures). */
  stats(): Promise<{ connections: number; [key: string]: unknown }>
}

export interface StartDemoOptions {
  /** Redis URL; absent: the embedded broker (one node, nothing kept across restarts). */
  redis?: string | undefined
  port?: number
  /** Extra environment of the process (say, `DEMO_HISTORY_SIZE`). */
  env?: Record<string, string>
}

function spawnDemo(port: number, options: StartDemoOptions): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@redisse/source', '--import', 'tsx', 'src/server/main.ts'],
      {
        cwd: demoDir,
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          REDIS_URL: options.redis ?? '',
          DEMO_SECRET: 'e2e-secret',
          DEMO_STATS_KEY: E2E_STATS_KEY,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the demo server did not start on port ${port}:\n${output}`))
    }, 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Redisse chat on ')) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      process.stderr.write(`[demo:${port}] ${chunk}`)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the demo server exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
}

/** Starts `apps/demo`'s server (the built frontend must exist) on a free port of 127.0.0.1. */
export async function startDemo(options: StartDemoOptions = {}): Promise<DemoNode> {
  const port = options.port ?? (await freePort())
  let child: ChildProcess | undefined = await spawnDemo(port, options)
  const url = `http://127.0.0.1:${port}`
  const stop = async ({ hard = false } = {}) => {
    const current = child
    child = undefined
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => current.kill('SIGKILL'), 5_000)
      current.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      current.kill(hard ? 'SIGKILL' : 'SIGTERM')
    })
  }
  const start = async () => {
    if (child) throw new Error('the demo server is running')
    child = await spawnDemo(port, options)
  }
  return {
    url,
    port,
    stop,
    start,
    async restart(opts) {
      await stop(opts)
      await start()
    },
    async stats() {
      const res = await fetch(`${url}/events/stats`, {
        headers: { authorization: `Bearer ${E2E_STATS_KEY}` },
      })
      if (!res.ok) throw new Error(`GET /events/stats answered ${res.status}`)
      return (await res.json()) as { connections: number }
    },
  }
}
