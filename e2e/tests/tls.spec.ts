import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'
import { freePort, makeTlsCertificate, waitFor } from '@redisse/test-utils'

const serverDir = fileURLToPath(new URL('../../packages/server/', import.meta.url))

let cli: ChildProcess | undefined
test.afterEach(() => {
  cli?.kill('SIGKILL')
})

test('Chromium speaks HTTP/2 to redisse-server --tls-cert/--tls-key and gets events over EventSource', async ({
  browser,
}) => {
  const tls = makeTlsCertificate()
  const port = await freePort()
  let output = ''
  cli = spawn(
    process.execPath,
    [
      '--conditions=@redisse/source',
      '--import',
      'tsx',
      'src/cli.ts',
      '--public',
      '--host',
      '127.0.0.1',
    ],
    {
      cwd: serverDir,
      env: {
        ...process.env,
        PORT: String(port),
        REDIS_URL: '',
        REDISSE_TLS_CERT: tls.certFile,
        REDISSE_TLS_KEY: tls.keyFile,
        REDISSE_PUBLISH_KEY: 'e2e-tls-publish-key',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  cli.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  cli.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  await waitFor(() => output.includes('listening'), {
    what: `the CLI (${output})`,
    timeout: 15_000,
  })

  const origin = `https://127.0.0.1:${port}`
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  const page = await context.newPage()
  await page.goto(`${origin}/healthz`)
  expect(
    await page.evaluate(
      () =>
        (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming)
          .nextHopProtocol,
    ),
  ).toBe('h2')

  const received = page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const source = new EventSource('/?channel=news')
        source.addEventListener('headline', (e) => {
          source.close()
          resolve((e as MessageEvent<string>).data)
        })
        source.addEventListener('open', () => document.body.setAttribute('data-open', '1'))
      }),
  )
  await page.waitForSelector('body[data-open="1"]')
  const res = await page.evaluate(
    async () =>
      (
        await fetch('/publish', {
          method: 'POST',
          headers: {
            authorization: 'Bearer e2e-tls-publish-key',
            'content-type': 'application/json',
          },
          body: JSON.stringify({ channel: 'news', type: 'headline', data: { text: 'over h2' } }),
        })
      ).status,
  )
  expect(res).toBe(200)
  expect(await received).toBe('{"text":"over h2"}')
  await context.close()
})
