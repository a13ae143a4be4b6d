import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './freePort'

export interface RabbitProcess {
  url: string
  stop(): Promise<void>
}

const CANDIDATES = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server']

/** Path of a rabbitmq-server binary (`RABBITMQ_SERVER_BIN` wins), or undefined when none exists. */
export function findRabbitServer(): string | undefined {
  const fromEnv = process.env.RABBITMQ_SERVER_BIN
  if (fromEnv) return fromEnv
  return CANDIDATES.find((c) => existsSync(c))
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

/**
 * Starts a throw-away RabbitMQ node on free ports of 127.0.0.1, with its own
 * epmd port, data dir and config, so it never touches a system RabbitMQ
 * (5672) or its epmd (4369). Takes about 7 s.
 */
export async function startRabbit(): Promise<RabbitProcess> {
  const bin = findRabbitServer()
  if (!bin)
    throw new Error(
      'no rabbitmq-server binary: apt-get install rabbitmq-server, or set RABBITMQ_SERVER_BIN',
    )
  const [port, epmdPort, distPort] = [await freePort(), await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'redisse-rabbit-'))
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
  writeFileSync(join(dir, 'env.conf'), '')
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users = none\n`,
  )
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_NODENAME: `redisse${port}@localhost`,
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  }
  // Our own epmd in the foreground, so it dies with the test run instead of
  // lingering as a daemon the way the one rabbitmq-server would start does.
  const epmd: ChildProcess = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], {
    env,
    stdio: 'ignore',
  })
  while (!(await portOpen(epmdPort))) await new Promise((r) => setTimeout(r, 50))
  const child: ChildProcess = spawn(bin, [], { env, stdio: 'ignore', detached: true })
  const killAll = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {}
    epmd.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 60_000
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      killAll()
      throw new Error(`rabbitmq-server did not start on port ${port}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    async stop() {
      killAll()
    },
  }
}
