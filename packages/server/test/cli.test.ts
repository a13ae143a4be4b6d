import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, openSse, uniquePrefix, waitFor } from '@redisse/test-utils'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { call } from './harness'

const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const children: ChildProcess[] = []

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ['--conditions=@redisse/source', '--import', 'tsx', cliPath, ...args],
    {
      env: { ...process.env, REDIS_URL: '', PORT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
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
