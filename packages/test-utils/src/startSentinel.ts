import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './freePort'

export interface SentinelProcess {
  port: number
  /** Name of the monitored master. */
  name: string
  stop(): Promise<void>
}

const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'

function masterKnown(port: number, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(200)
    socket.on('connect', () => socket.write(`SENTINEL get-master-addr-by-name ${name}\r\n`))
    socket.on('data', (d) => {
      socket.destroy()
      resolve(d.toString().startsWith('*2'))
    })
    socket.on('error', () => resolve(false))
    socket.on('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** Timings of a Sentinel, short in failover tests so a promotion takes about a second. */
export interface SentinelTimings {
  /** `down-after-milliseconds`: silence after which the master counts as down. */
  downAfter?: number
  /** `failover-timeout`, ms. */
  failoverTimeout?: number
}

/**
 * Starts a Redis Sentinel on a free port of 127.0.0.1 monitoring the master
 * at `masterPort` under the name `redisse-test` (sentinel mode of the same
 * `redis-server` binary; its config lives in a temporary folder). Without
 * `timings`, Sentinel's own defaults apply.
 */
export async function startSentinel(
  masterPort: number,
  timings: SentinelTimings = {},
): Promise<SentinelProcess> {
  const port = await freePort()
  const name = 'redisse-test'
  const dir = mkdtempSync(join(tmpdir(), 'redisse-sentinel-'))
  const config = join(dir, 'sentinel.conf')
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      ...(timings.downAfter === undefined
        ? []
        : [`sentinel down-after-milliseconds ${name} ${timings.downAfter}`]),
      ...(timings.failoverTimeout === undefined
        ? []
        : [`sentinel failover-timeout ${name} ${timings.failoverTimeout}`]),
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(bin, [config, '--sentinel', '--loglevel', 'warning'], {
    stdio: 'ignore',
  })
  const deadline = Date.now() + 10_000
  while (!(await masterKnown(port, name))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis sentinel did not start on port ${port}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    port,
    name,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
    },
  }
}
