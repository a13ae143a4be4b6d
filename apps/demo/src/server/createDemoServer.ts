import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createPublisher, type Publisher } from '@redisse/publisher'
import { createServer } from '@redisse/server'
import type { ChatEvents } from '../shared/events'
import { createChatApi, DEFAULT_ROOMS } from './createChatApi'
import { createMemoryStore } from './createMemoryStore'
import { createPresence } from './createPresence'
import { createRedisStore } from './createRedisStore'
import { sendJson } from './httpJson'
import type { Store } from './Store'
import { serveStatic } from './serveStatic'
import { createSessions } from './session'

/** Where Redisse is mounted: the stream is `/events`, stats `/events/stats` (with `statsKey`). */
export const EVENTS_PATH = '/events'

export interface DemoServerOptions {
  port?: number
  host?: string
  /** Redis URL; absent: Redisse's embedded broker and an in-memory store (one node). */
  redis?: string | undefined
  /**
   * Signs sessions; every node of one chat needs the same one.
   * @defaultValue random per process: sessions then end with the process
   *   and are not accepted by another node
   */
  secret?: string
  /** Lifetime of the Redisse tokens handed to pages, ms. @defaultValue 1 day */
  tokenTtl?: number
  /** Prefix of the chat's own Redis keys. @defaultValue 'demo:' */
  prefix?: string
  /** Prefix of Redisse's keys, the same for the server and the publisher. @defaultValue 'redisse:' */
  redissePrefix?: string
  /** Events kept per channel for resuming clients (Redisse's `history.size`). @defaultValue 1000 */
  historySize?: number
  /** The built frontend. @defaultValue apps/demo/dist/web */
  webRoot?: string
  /**
   * Serves Redisse's `/events/stats` and `/events/metrics` to
   * `Authorization: Bearer <statsKey>`; without it both are off (they name
   * every channel, so who is in which private room).
   */
  statsKey?: string | undefined
}

export interface DemoServer {
  url: string
  port: number
  close(): Promise<void>
}

/**
 * True for a target the API and the static files can read: a path (not
 * `//host…`, which URL parsers read as a host) whose %-encoding decodes.
 * Redisse checks its own targets under `/events`.
 */
function isPathTarget(target: string | undefined): boolean {
  const raw = target ?? '/'
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return false
  try {
    decodeURIComponent(new URL(`http://localhost${raw}`).pathname)
    return true
  } catch {
    return false
  }
}

/** Strips the mount path so Redisse sees the paths it serves (`/`, `/poll`, `/stats`…). */
function underEvents(req: IncomingMessage): boolean {
  const url = req.url ?? '/'
  if (
    url !== EVENTS_PATH &&
    !url.startsWith(`${EVENTS_PATH}/`) &&
    !url.startsWith(`${EVENTS_PATH}?`)
  ) {
    return false
  }
  req.url = url.slice(EVENTS_PATH.length) || '/'
  if (req.url.startsWith('?')) req.url = `/${req.url}`
  return true
}

/**
 * The whole demo in one process: the chat API, the built frontend, and
 * Redisse's handler mounted at `/events` (token mode). With `redis` the
 * publisher and the store use Redis, so several nodes can serve one chat;
 * without, the publisher goes through this server's own `POST /publish`.
 */
export async function createDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const { port = 3000, host = '0.0.0.0', redis, prefix = 'demo:', redissePrefix } = options
  const webRoot = options.webRoot ?? fileURLToPath(new URL('../../dist/web', import.meta.url))
  const store: Store = redis ? createRedisStore(redis, prefix) : createMemoryStore()
  for (const room of DEFAULT_ROOMS) await store.createRoom(room)

  let publisher: Publisher<ChatEvents> | undefined
  const publishKey = redis ? undefined : randomBytes(24).toString('base64url')
  const redisse = createServer({
    ...(redis ? { redis } : {}),
    ...(redissePrefix ? { prefix: redissePrefix } : {}),
    tokens: true,
    ...(publishKey ? { publishKey } : {}),
    ...(options.statsKey ? { statsKey: options.statsKey } : {}),
    // Typing indicators are stale a second later: never replayed.
    history: {
      ...(options.historySize === undefined ? {} : { size: options.historySize }),
      overrides: { 'typing:*': false },
    },
    logger: 'warn',
    push: createPresence(
      store,
      () => publisher,
      (message, err) => console.warn(message, err),
    ),
  })
  await redisse.broker.ready()

  const api = createChatApi({
    store,
    // A fixed default would let anyone who read this code sign in as anyone.
    sessions: createSessions(options.secret ?? randomBytes(32).toString('base64url')),
    isTokenValid: async (token, user) =>
      (await redisse.broker.resolveToken(token).catch(() => undefined))?.subject === user,
    ...(options.tokenTtl === undefined ? {} : { tokenTtl: options.tokenTtl }),
    publisher: () => {
      if (!publisher) throw new Error('the demo server is not listening yet')
      return publisher
    },
  })
  const web = serveStatic(webRoot)
  const http = createHttpServer((req, res) => {
    if (!isPathTarget(req.url)) {
      sendJson(res, 400, {
        error: { code: 'invalid-request', message: 'malformed request target: send a path' },
      })
      return
    }
    if (underEvents(req)) {
      redisse.handler(req, res)
      return
    }
    api(req, res)
      .then((handled) => (handled ? undefined : web(req, res)))
      .catch((err: unknown) => {
        console.error('request failed', err)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
  })
  http.on('upgrade', (req, socket, head) => {
    if (underEvents(req)) redisse.upgrade(req, socket, head)
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, host, resolve)
  })
  const actual = (http.address() as AddressInfo).port
  publisher = redis
    ? createPublisher<ChatEvents>({ redis, ...(redissePrefix ? { prefix: redissePrefix } : {}) })
    : createPublisher<ChatEvents>({
        url: `http://127.0.0.1:${actual}${EVENTS_PATH}`,
        key: publishKey ?? '',
      })
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    async close() {
      await redisse.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
      await publisher?.close()
      await store.close()
    },
  }
}
