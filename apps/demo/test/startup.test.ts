import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { freePort } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'

const mainPath = fileURLToPath(new URL('../src/server/main.ts', import.meta.url))

/** Runs the demo's entry point as `pnpm demo` does; resolves with its exit code and output. */
function runDemo(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@redisse/source', '--import', 'tsx', mainPath],
    {
      env: { ...process.env, REDIS_URL: '', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer)
      resolve({ code, output })
    }),
  )
}

describe('the demo at start', () => {
  it('refuses a REDIS_URL that is not a redis: URL in one line, code 1', async () => {
    const { code, output } = await runDemo({
      REDIS_URL: 'redis//127.0.0.1:6380',
      PORT: String(await freePort()),
    })
    expect(code).toBe(1)
    expect(output.trim()).toBe(
      'redisse demo: REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    )
  })

  it('says in one line that the port is in use, code 1', async () => {
    const blocker = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const { code, output } = await runDemo({ PORT: String(port) })
      expect(code).toBe(1)
      expect(output.trim().split('\n').at(-1)).toBe(
        `redisse demo: port ${port} on 127.0.0.1 is in use: set PORT to another port`,
      )
      expect(output).not.toMatch(/\n\s+at /)
    } finally {
      blocker.close()
    }
  })
})
