import { defineConfig } from '@playwright/test'
import { chromiumLaunch, firefoxLaunch } from './support/browsers'
import type { TransportParam } from './support/fixtures'

/**
 * The demo in real browsers: Debian's Chromium and Firefox ESR (over
 * WebDriver BiDi), Chromium without `window.EventSource` so the client's
 * fetch transport runs, and Chromium on the WebSocket transport. Each worker
 * starts its own redis-server and demo server on free ports
 * (support/fixtures.ts); the global setup builds the frontend once.
 */
export default defineConfig<{ transport: TransportParam; noEventSource: boolean }>({
  testDir: './tests',
  globalSetup: './support/globalSetup.ts',
  fullyParallel: false,
  workers: process.env.E2E_WORKERS ? Number(process.env.E2E_WORKERS) : 2,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 45_000,
  expect: { timeout: 8_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 10_000,
  },
  projects: [
    {
      name: 'chromium',
      testIgnore: /(docs|tls)\.spec\.ts/,
      use: { browserName: 'chromium', launchOptions: chromiumLaunch },
    },
    {
      name: 'firefox',
      testIgnore: /(docs|tls)\.spec\.ts/,
      use: { browserName: 'firefox', channel: 'moz-firefox', launchOptions: firefoxLaunch },
    },
    {
      name: 'chromium-polyfill',
      testIgnore: /(docs|ui|tls)\.spec\.ts/,
      use: {
        browserName: 'chromium',
        launchOptions: chromiumLaunch,
        // Every context the tests open deletes window.EventSource before
        // the page's scripts run (support/fixtures.ts).
        noEventSource: true,
      },
    },
    {
      name: 'websocket',
      testIgnore: /(docs|ui|tls)\.spec\.ts/,
      use: { browserName: 'chromium', launchOptions: chromiumLaunch, transport: 'websocket' },
    },
    {
      // The CLI over HTTPS (--tls-cert/--tls-key): HTTP/2 in Chromium.
      name: 'tls',
      testMatch: /tls\.spec\.ts/,
      use: { browserName: 'chromium', launchOptions: chromiumLaunch },
    },
    ...(process.env.DOCS_SCREENSHOTS
      ? [
          {
            name: 'docs',
            testMatch: /docs\.spec\.ts/,
            use: { browserName: 'chromium' as const, launchOptions: chromiumLaunch },
          },
        ]
      : []),
  ],
})
