import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { freePort, spawnCliFromSource, waitFor } from '@redisse/test-utils'

/** Keys the hostile-input suites start the CLI with. */
export const PUBLISH_KEY = 'hostile-publish-key'
export const STATS_KEY = 'hostile-stats-key'

/** A `redisse-server` child process on the embedded broker, on a port of its own. */
export interface LiveCli {
  child: ChildProcess
  port: number
  url: string
  /** Everything the process printed. */
  output(): string
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string | null>
  readonly alive: boolean
  /** GET /healthz status (0 when the request failed). */
  healthz(): Promise<number>
  /** Open connections per `/stats`. */
  connections(): Promise<number>
  /** The process's resident set, in KiB (`/proc/<pid>/status` VmRSS). */
  rssKiB(): number
  /** Calls the publisher HTTP API with the publish key. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>
  stop(): Promise<void>
}

/**
 * Starts the CLI from source (as a user runs the bin) in token and public
 * mode, with the HTTP API and stats behind keys.
 */
export async function startCli(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<LiveCli> {
  const port = await freePort()
  const child = spawnCliFromSource(
    [
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--public',
      '--publish-key',
      PUBLISH_KEY,
      '--stats-key',
      STATS_KEY,
      ...args,
    ],
    {
      env: { ...process.env, REDIS_URL: '', PORT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  let alive = true
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => {
      alive = false
      resolve(code ?? signal)
    }),
  )
  const url = `http://127.0.0.1:${port}`
  await waitFor(() => out.includes('listening') || !alive, {
    what: 'the CLI to listen',
    timeout: 15_000,
  })
  if (!alive) throw new Error(`the CLI exited at start:\n${out}`)
  const api = publisherApi(url)
  return {
    child,
    port,
    url,
    output: () => out,
    exited,
    get alive() {
      return alive
    },
    async healthz() {
      try {
        return (await fetch(`${url}/healthz`)).status
      } catch {
        return 0
      }
    },
    async connections() {
      const res = await fetch(`${url}/stats`, {
        headers: { authorization: `Bearer ${STATS_KEY}` },
      })
      return ((await res.json()) as { connections: number }).connections
    },
    rssKiB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
    },
    api,
    async stop() {
      if (alive) child.kill('SIGKILL')
      await exited
    },
  }
}

/** Calls the publisher HTTP API of the server at `url` with {@link PUBLISH_KEY}. */
export function publisherApi(url: string): LiveCli['api'] {
  return async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { status: res.status, body: parsed }
  }
}

/** What a raw exchange on one TCP connection got back. */
export interface RawReply {
  /** Everything received, as latin1 text. */
  text: string
  /** The first status code seen (0 when none). */
  status: number
  /** The socket was closed (by either side) before the exchange ended. */
  closed: boolean
}

/**
 * Writes `bytes` on a fresh TCP connection and collects what comes back,
 * until the server closes, `until` matches what was received, or
 * `timeout` ms pass; then ends the connection (`reset: true` sends an RST).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  options: {
    until?: (text: string) => boolean
    timeout?: number
    reset?: boolean
    /** Keeps the client's side open after the server's FIN (as some clients do). */
    halfOpen?: boolean
  } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.halfOpen ?? false })
    let text = ''
    let closed = false
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (options.reset && !socket.destroyed) socket.resetAndDestroy()
      else socket.destroy()
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)
      resolve({ text, status, closed })
    }
    const timer = setTimeout(finish, options.timeout ?? 3000)
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (options.until?.(text)) finish()
    })
    socket.on('close', () => {
      closed = true
      finish()
    })
    socket.on('connect', () => socket.write(bytes))
  })
}

/** Opens a TCP connection to `port` and resolves once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(socket)
    })
  })
}

/** A GET request in raw HTTP/1.1 (keep-alive unless `close`). */
export function rawGet(
  target: string,
  headers: Record<string, string> = {},
  version = '1.1',
): string {
  const lines = [`GET ${target} HTTP/${version}`, 'Host: 127.0.0.1']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** The headers of a WebSocket upgrade request. */
export const UPGRADE_HEADERS = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
}
