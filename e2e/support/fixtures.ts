import {
  type Browser,
  type BrowserContext,
  test as base,
  chromium,
  expect,
  firefox,
  type Page,
} from '@playwright/test'
import { type RedisProcess, startRedis } from '@redisse/test-utils'
import { chromiumLaunch, firefoxLaunch } from './browsers'
import { type DemoNode, startDemo } from './startDemo'

/** Transport names the demo passes to `createClient` from `?transport=`. */
export type TransportParam = 'auto' | 'eventsource' | 'fetch' | 'poll' | 'websocket'

/** One event as the demo page's stream delivered it (`window.__demo.events`). */
export interface ProbedEvent {
  id: string | undefined
  type: string
  channel: string | undefined
  data: unknown
}

interface Options {
  /** `?transport=` of every page the helpers open. */
  transport: TransportParam
  /** Deletes `window.EventSource` in every context before page scripts run. */
  noEventSource: boolean
}

interface WorkerFixtures {
  /** A redis-server of this worker, on a free port. */
  redis: RedisProcess
  /** The demo on that Redis, for every test of this worker. */
  demo: DemoNode
}

interface TestFixtures {
  /** A new context of the project's browser (or of `browser`), with the project's init scripts. */
  newContext: (browser?: Browser) => Promise<BrowserContext>
  /** A browser of the other engine than the project's (Firefox for Chromium projects, and back). */
  otherBrowser: Browser
  /** Opens the demo as `name` in `context` and waits until its stream is live. */
  signIn: (context: BrowserContext, name: string, options?: SignInOptions) => Promise<Page>
}

export interface SignInOptions {
  /** Another node's URL. */
  url?: string
  /** Extra query parameters (say, `shared=1`). */
  query?: Record<string, string>
  /**
   * Wait for the server's announcement of this page's own stream (default);
   * false for a tab that shares another tab's stream (`shared=1`) and so
   * opens none.
   */
  ownStream?: boolean
}

let names = 0
/** A user name unique to this run (names are global to a Redis). */
export function uniqueName(base: string): string {
  names += 1
  return `${base}${process.pid % 1000}${names}${Math.random().toString(36).slice(2, 5)}`.slice(
    0,
    20,
  )
}

export const test = base.extend<TestFixtures & Options, WorkerFixtures>({
  transport: ['auto', { option: true }],
  noEventSource: [false, { option: true }],
  newContext: async ({ browser, noEventSource }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (which = browser) => {
      const context = await which.newContext()
      contexts.push(context)
      if (noEventSource) await context.addInitScript('delete window.EventSource')
      return context
    })
    await Promise.all(contexts.map((context) => context.close().catch(() => {})))
  },
  redis: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a function destructures
    async ({}, use) => {
      const redis = await startRedis()
      await use(redis)
      await redis.stop()
    },
    { scope: 'worker' },
  ],
  demo: [
    async ({ redis }, use) => {
      const node = await startDemo({ redis: redis.url })
      await use(node)
      await node.stop()
    },
    { scope: 'worker', timeout: 30_000 },
  ],
  otherBrowser: async ({ browserName }, use) => {
    const other =
      browserName === 'firefox'
        ? await chromium.launch(chromiumLaunch)
        : await firefox.launch(firefoxLaunch)
    await use(other)
    await other.close()
  },
  signIn: async ({ demo, transport }, use) => {
    await use(async (context, name, options = {}) => {
      const page = await context.newPage()
      const query = new URLSearchParams({ transport, ...options.query })
      await page.goto(`${options.url ?? demo.url}/?${query}`)
      const nameField = page.getByLabel('Your name')
      // A second tab of a signed-in browser opens the chat directly.
      if (await nameField.isVisible()) {
        await nameField.fill(name)
        await page.getByRole('button', { name: 'Join the chat' }).click()
      }
      await expect(page.getByRole('status', { name: 'Connection' })).toHaveText('Live')
      if (options.ownStream === false) return page
      // The server announces every new stream once it is subscribed: from
      // then on, nothing published can miss this page.
      const user = (await page.locator('.me strong').textContent()) ?? name
      await expect
        .poll(() =>
          page.evaluate(
            (who) =>
              window.__demo.events.some(
                (e) => e.type === 'presence' && (e.data as { user: string }).user === who,
              ),
            user,
          ),
        )
        .toBe(true)
      return page
    })
  },
})

export { expect }

/** Posts `text` in the page's current room, as a user would. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill(text)
  await page.getByRole('button', { name: 'Send' }).click()
}

/** The message list of the current room. */
export function messageLog(page: Page) {
  return page.getByRole('log')
}

/** Events the page's stream delivered so far. */
export function probedEvents(page: Page): Promise<ProbedEvent[]> {
  return page.evaluate(() => window.__demo.events)
}

/** Texts of the `message` events of `channel` the page's stream delivered, in order. */
export async function streamedTexts(page: Page, channel: string): Promise<string[]> {
  const events = await probedEvents(page)
  return events
    .filter((event) => event.type === 'message' && event.channel === channel)
    .map((event) => (event.data as { text: string }).text)
}

declare global {
  interface Window {
    __demo: {
      events: ProbedEvent[]
      resets: number
      reconnects: number
      state: string
      transport: string | undefined
    }
  }
}
