import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect as connectHttp2 } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  freePort,
  makeTlsCertificate,
  openSse,
  spawnCliFromSource,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { WebSocket } from 'ws'
import { createServer } from '../src/index'
import { call } from './harness'

const children: ChildProcess[] = []

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawnCliFromSource(args, {
    env: { ...process.env, REDIS_URL: '', PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  return { child, output: () => out, exited }
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})

describe('redisse-server CLI', () => {
  it('prints every flag with --help', async () => {
    const cli = runCli(['--help'])
    expect(await cli.exited).toBe(0)
    for (const flag of [
      '--port',
      '--redis',
      '--redis-cluster',
      '--redis-partitions',
      '--config',
      '--cors-origin',
      '--keep-alive',
      '--retry',
      '--publish-key',
      '--public',
    ]) {
      expect(cli.output()).toContain(flag)
    }
  })

  it('runs on the embedded broker, says so first, serves public channels and stops on SIGTERM with 0', async () => {
    const port = await freePort()
    const cli = runCli(['--public', '--host', '127.0.0.1'], {
      PORT: String(port),
      REDISSE_PUBLISH_KEY: 'cli-secret-key',
    })
    await waitFor(() => cli.output().includes('listening'), {
      what: 'first log line',
      timeout: 10_000,
    })
    const first = JSON.parse(cli.output().split('\n')[0] ?? '')
    expect(first).toMatchObject({ msg: 'redisse-server listening', access: 'token+public' })
    expect(first.broker).toMatch(/^embedded/)
    const stream = await openSse(`http://127.0.0.1:${port}/?channel=news`)
    await stream.waitForComment('ok')
    const res = await call(`http://127.0.0.1:${port}/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer cli-secret-key', 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'news', type: 'headline', data: { text: 'from curl' } }),
    })
    expect(res.status).toBe(200)
    expect((await stream.waitForEvents(1))[0]?.data).toBe('{"text":"from curl"}')
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    await stream.ended
  })

  it('runs token mode on Redis by default and refuses ?channel= without --public', async () => {
    const port = await freePort()
    const cli = runCli(
      ['--port', String(port), '--host', '127.0.0.1', '--prefix', uniquePrefix('cli')],
      {
        REDIS_URL: inject('redisUrl'),
      },
    )
    await waitFor(() => cli.output().includes('listening'), {
      what: 'first log line',
      timeout: 10_000,
    })
    expect(JSON.parse(cli.output().split('\n')[0] ?? '')).toMatchObject({
      broker: 'redis',
      access: 'token',
    })
    expect((await call(`http://127.0.0.1:${port}/?channel=news`)).status).toBe(403)
    expect((await call(`http://127.0.0.1:${port}/`)).status).toBe(401)
    const health = await call(`http://127.0.0.1:${port}/healthz`)
    expect(health).toMatchObject({ status: 200, body: { ok: true, broker: 'ready' } })
    cli.child.kill('SIGINT')
    expect(await cli.exited).toBe(0)
  })

  it('loads --config (channels from the module) and lets flags override it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redisse-config-'))
    const file = join(dir, 'redisse.config.mjs')
    writeFileSync(
      file,
      "export default { channels: () => ['from-config'], retry: 777, keepAlive: 60000 }\n",
    )
    const port = await freePort()
    const cli = runCli([
      '--config',
      file,
      '--retry',
      '1500',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ])
    await waitFor(() => cli.output().includes('listening'), {
      what: 'first log line',
      timeout: 10_000,
    })
    expect(JSON.parse(cli.output().split('\n')[0] ?? '')).toMatchObject({ access: 'callback' })
    const stream = await openSse(`http://127.0.0.1:${port}/`)
    await stream.waitForComment('ok')
    expect(stream.retry).toBe(1500)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })
})

describe('redisse-server CLI explains what is wrong', () => {
  it.each([
    [['--prot', '5000'], '--prot'],
    [['start'], '"start"'],
    [['--port', '-1'], '--port'],
    [['--port', '70000'], '--port'],
    [['--port'], '--port'],
    [['--log-level', 'loud'], '--log-level'],
    [['--cors-origin', 'not an origin'], '--cors-origin'],
    [['--cors-origin', 'https://app.example.com/path'], '--cors-origin'],
    [['--public', 'bad channel,room:*'], '--public'],
    [['--amqp', 'nonsense'], '--amqp'],
    [['--redis-timeout', 'soon'], '--redis-timeout'],
    [['--redis', 'redis//127.0.0.1:6380'], '--redis'],
    [['--redis', 'http://127.0.0.1:6380'], '--redis'],
    [
      ['--redis', 'redis://127.0.0.1:1', '--redis-cluster', 'redis://127.0.0.1:2'],
      '--redis-cluster',
    ],
    [['--redis-cluster', 'http://127.0.0.1:1'], '--redis-cluster'],
    [['--redis-cluster', ' , '], '--redis-cluster'],
    [['--redis-cluster', 'redis://127.0.0.1:1', '--redis-partitions', '17'], '--redis-partitions'],
    [['--redis-cluster', 'redis://127.0.0.1:1', '--redis-partitions', 'two'], '--redis-partitions'],
    [['--redis-partitions', '4'], '--redis-partitions'],
    [['--workers', '0'], '--workers'],
    [['--workers', 'lots'], '--workers'],
    [['--workers', '257'], '--workers'],
    // Above 1 on the embedded broker: each worker would have a log of its own.
    [['--workers', '2'], '--workers'],
  ])('refuses %j in one line naming %s and --help, with code 2', async (args, flag) => {
    const cli = runCli(args)
    expect(await cli.exited).toBe(2)
    const lines = cli.output().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(flag)
    expect(lines[0]).toContain('--help')
  })

  it('refuses a REDIS_URL that is not redis: or rediss: at once, naming REDIS_URL', async () => {
    const started = Date.now()
    const cli = runCli([], { REDIS_URL: 'http://127.0.0.1:6380' })
    expect(await cli.exited).toBe(2)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(cli.output()).toMatch(
      /^redisse-server: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
    )
  })

  // The line comes 0.5 s into the wait. Measured from the spawn, the wait
  // for it also counted the start of node and tsx, which took over 2 s on
  // a loaded CI: what is asserted is that it comes while the node waits,
  // before it gives up.
  it('says while it waits for Redis where it waits (no password), then exits 1 after --redis-timeout', async () => {
    const redisPort = await freePort()
    const started = Date.now()
    const cli = runCli(['--port', '0', '--host', '127.0.0.1', '--redis-timeout', '2'], {
      REDIS_URL: `redis://:hunter2secret@127.0.0.1:${redisPort}`,
    })
    expect(await cli.exited).toBe(1)
    const elapsed = Date.now() - started
    const lines = cli.output().trim().split('\n')
    const waiting = lines.findIndex((line) => line.includes('waiting for Redis'))
    const gaveUp = lines.findIndex((line) =>
      /redisse-server: cannot reach Redis within 2 s/.test(line),
    )
    expect({ waiting: waiting >= 0, gaveUp: gaveUp > waiting }, cli.output()).toEqual({
      waiting: true,
      gaveUp: true,
    })
    expect(JSON.parse(lines[waiting] ?? '')).toMatchObject({
      msg: 'waiting for Redis',
      // describeRedis masks the password, and the logger redacts what looks like one.
      redis: `redis://:[redacted]@127.0.0.1:${redisPort}`,
    })
    expect(elapsed).toBeGreaterThanOrEqual(2000)
    expect(cli.output()).not.toContain('hunter2secret')
  })

  it('listens as soon as Redis comes up within --redis-timeout', async () => {
    const redisPort = await freePort()
    const port = await freePort()
    const cli = runCli(['--port', String(port), '--host', '127.0.0.1', '--redis-timeout', '20'], {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    })
    await waitFor(() => cli.output().includes('waiting for Redis'), {
      what: 'waiting line',
      // What this test checks is the listen after Redis comes: the 2 s promise is the test above's.
      timeout: 10_000,
    })
    const redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    children.push(redis)
    // Past the Redis broker's own 10 s give-up: the CLI's timeout is the one that holds.
    await waitFor(() => cli.output().includes('redisse-server listening'), {
      what: 'listening line',
      timeout: 15_000,
    })
    expect((await call(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  }, 20_000)

  it('exits 1 with one line when the port is in use', async () => {
    const port = await freePort()
    const blocker = runCli(['--port', String(port), '--host', '127.0.0.1'])
    await waitFor(() => blocker.output().includes('listening'), {
      what: 'first server',
      timeout: 10_000,
    })
    const cli = runCli(['--port', String(port), '--host', '127.0.0.1'])
    expect(await cli.exited).toBe(1)
    expect(cli.output().trim()).toBe(
      `redisse-server: port ${port} on 127.0.0.1 is in use: choose another with --port (PORT)`,
    )
  })

  it('createServer().listen() rejects with broker-unavailable after redisTimeout', async () => {
    const server = createServer({
      redis: `redis://127.0.0.1:${await freePort()}`,
      tokens: true,
      redisTimeout: 600,
      logger: 'silent',
    })
    const started = Date.now()
    await expect(server.listen(0, '127.0.0.1')).rejects.toMatchObject({
      code: 'broker-unavailable',
    })
    expect(Date.now() - started).toBeLessThan(3000)
    await server.close()
  })
})

describe('redisse-server CLI over TLS (--tls-cert, --tls-key)', () => {
  it('serves HTTP/2 and HTTP/1.1 over HTTPS: a stream over HTTP/2, a publish with curl --http2, /healthz and WebSocket over HTTP/1.1', async () => {
    const tls = makeTlsCertificate()
    const port = await freePort()
    const cli = runCli(['--public', '--host', '127.0.0.1', '--port', String(port)], {
      REDISSE_TLS_CERT: tls.certFile,
      REDISSE_TLS_KEY: tls.keyFile,
      REDISSE_PUBLISH_KEY: 'cli-secret-key',
    })
    await waitFor(() => cli.output().includes('listening'), { what: 'listening', timeout: 10_000 })
    expect(JSON.parse(cli.output().split('\n')[0] ?? '')).toMatchObject({
      url: `https://127.0.0.1:${port}`,
    })
    const origin = `https://127.0.0.1:${port}`

    const session = connectHttp2(origin, { ca: tls.cert })
    const stream = session.request({ ':path': '/?channel=news', accept: 'text/event-stream' })
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => (body += chunk))
    const headers = await new Promise<Record<string, unknown>>((r) => stream.once('response', r))
    expect(headers[':status']).toBe(200)
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8')
    await waitFor(() => body.includes(':ok\n'), { what: ':ok over HTTP/2' })

    const publish = await curl(
      [
        '--http2',
        '-H',
        'authorization: Bearer cli-secret-key',
        '-H',
        'content-type: application/json',
        '-d',
        '{"channel":"news","type":"headline","data":{"text":"over h2"}}',
        `${origin}/publish`,
      ],
      tls.certFile,
    )
    expect(publish.meta).toEqual({ version: '2', status: '200' })
    await waitFor(() => body.includes('data: {"text":"over h2"}'), {
      what: 'the event over HTTP/2',
    })
    expect(body).toMatch(/id: [^\n]+\nevent: headline\ndata: \{"text":"over h2"\}\n\n/)

    const health = await curl(['--http1.1', `${origin}/healthz`], tls.certFile)
    expect(health.meta).toEqual({ version: '1.1', status: '200' })

    const ws = new WebSocket(`wss://127.0.0.1:${port}/?channel=news`, { ca: tls.cert })
    const frames: string[] = []
    ws.on('message', (data) => frames.push(String(data)))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.close()

    stream.close()
    session.close()
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })

  it('refuses --tls-cert without --tls-key, and unreadable files, in one line with code 2', async () => {
    const alone = runCli(['--tls-cert', '/nonexistent/cert.pem'])
    expect(await alone.exited).toBe(2)
    expect(alone.output()).toMatch(/^redisse-server: --tls-cert and --tls-key .* --help\)\n$/)
    const missing = runCli([
      '--port',
      '0',
      '--tls-cert',
      '/nonexistent/c.pem',
      '--tls-key',
      '/nonexistent/k.pem',
    ])
    expect(await missing.exited).toBe(2)
    expect(missing.output().trim().split('\n')).toHaveLength(1)
    expect(missing.output()).toContain('cannot read --tls-cert / --tls-key')
  })
})

/** curl with our CA; `meta` is the HTTP version and status curl saw. */
async function curl(args: string[], caFile: string) {
  const child = spawn('curl', [
    '-sS',
    '--cacert',
    caFile,
    '-w',
    '\\n%{http_version} %{http_code}',
    ...args,
  ])
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise((r) => child.on('exit', r))
  const [version, status] = (out.trim().split('\n').at(-1) ?? '').split(' ')
  return { body: out, meta: { version, status } }
}
