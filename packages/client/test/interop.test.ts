import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { cleanupAfterEach, freePort, startTcpProxy, waitFor } from '@redisse/test-utils'
import { createSession } from 'better-sse'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { describe, expect, it } from 'vitest'
import { createClient } from '../src/index'
import { TRANSPORTS } from './transports'

/**
 * An SSE server that is not Redisse, as apps write them: a log of events
 * with ids `1`, `2`…; a connection resumes after its `Last-Event-ID`
 * header (the spec's resume point, and the only one these servers read),
 * else starts with what comes next.
 */
interface PeerServer {
  url: string
  /** `Last-Event-ID` header of every stream request, in order (`null`: none). */
  resumes: Array<string | null>
  /** Appends an event to the log and sends it to the open streams. */
  publish(data: string): void
  /** Cuts every open stream at once (a proxy restart, a network blip). */
  drop(): void
  close(): Promise<void>
}

type Send = (id: string, data: string) => void

/** The log, the live streams and the socket bookkeeping shared by the three servers. */
function peerState() {
  const log: Array<{ id: string; data: string }> = []
  const live = new Set<Send>()
  const sockets = new Set<Socket>()
  const resumes: Array<string | null> = []
  /** Registers a stream: replays after `lastId`, then takes live events. */
  const attach = (lastId: string | undefined, send: Send) => {
    resumes.push(lastId ?? null)
    const from = lastId ? log.findIndex((e) => e.id === lastId) + 1 : log.length
    for (const event of log.slice(from)) send(event.id, event.data)
    live.add(send)
    return () => live.delete(send)
  }
  const listen = async (server: Server): Promise<PeerServer> => {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}/`,
      resumes,
      publish(data) {
        const event = { id: String(log.length + 1), data }
        log.push(event)
        for (const send of live) send(event.id, event.data)
      },
      drop() {
        // Streams leave `live` before their sockets go: an event published
        // now reaches no stream, it is in the gap.
        live.clear()
        for (const socket of sockets) socket.destroy()
      },
      async close() {
        live.clear()
        for (const socket of sockets) socket.destroy()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      },
    }
  }
  return { attach, listen }
}

const header = (req: IncomingMessage) => req.headers['last-event-id'] as string | undefined

/** A plain node:http server writing the event stream by hand. */
async function startPlainServer(): Promise<PeerServer> {
  const state = peerState()
  return state.listen(
    createServer((req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('retry: 20\n\n')
      const detach = state.attach(header(req), (id, data) => {
        res.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`)
      })
      res.on('close', detach)
    }),
  )
}

/** better-sse's `createSession` on node:http. */
async function startBetterSseServer(): Promise<PeerServer> {
  const state = peerState()
  return state.listen(
    createServer(async (req, res) => {
      const session = await createSession(req, res, { retry: 20 })
      const detach = state.attach(session.lastId || undefined, (id, data) => {
        if (session.isConnected) session.push(data, 'message', id)
      })
      session.on('disconnected', detach)
    }),
  )
}

/** Hono's `streamSSE`, served by @hono/node-server. */
async function startHonoServer(): Promise<PeerServer> {
  const state = peerState()
  const app = new Hono()
  app.get('/', (c) =>
    streamSSE(c, async (stream) => {
      await stream.write('retry: 20\n\n')
      const detach = state.attach(c.req.header('last-event-id'), (id, data) => {
        void stream.writeSSE({ id, data: JSON.stringify(data) })
      })
      await new Promise<void>((resolve) => stream.onAbort(resolve))
      detach()
    }),
  )
  return state.listen(createAdaptorServer({ fetch: app.fetch }) as Server)
}

const PEERS = [
  { name: 'a plain node:http server', start: startPlainServer },
  { name: 'better-sse', start: startBetterSseServer },
  { name: "Hono's streamSSE", start: startHonoServer },
]

const cleanups = cleanupAfterEach()

// Poll and WebSocket speak Redisse's own endpoints (`/poll`, JSON frames):
// against other servers, the SSE transports are the ones that apply.
describe.each(TRANSPORTS.filter((t) => t.parsesStream))('the $name transport', (transport) => {
  it.each(PEERS)(
    'resumes against $name by Last-Event-ID: the event published while cut off arrives, once',
    async ({ start }) => {
      const peer = await start()
      cleanups.push(() => peer.close())
      const client = createClient<{ message: string }>(peer.url, {
        ...transport.options,
        reconnect: { delay: 20 },
      })
      cleanups.push(() => client.close())
      const got: string[] = []
      client.on('message', (data, meta) => got.push(`${meta.id}:${data}`))
      await waitFor(() => client.state === 'open', { what: 'client open' })
      peer.publish('a')
      peer.publish('b')
      await waitFor(() => got.length === 2, { what: `two events (got ${got})` })
      peer.drop()
      peer.publish('in the gap')
      await waitFor(() => peer.resumes.length === 2, { what: 'a second stream request' })
      peer.publish('marker')
      await waitFor(() => got.includes('4:marker'), { what: `the marker (got ${got})` })
      expect(got).toEqual(['1:a', '2:b', '3:in the gap', '4:marker'])
      expect(peer.resumes).toEqual([null, '2'])
      expect(client.lastEventId).toBe('4')
    },
  )
})

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx'
const NCHAN = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so'

/**
 * nginx with Nchan (memory store), one channel, reached through a TCP proxy
 * that can cut the client's stream. Nchan resumes from `Last-Event-ID`, and
 * a request without it gets every buffered message from the oldest.
 */
async function startNchan() {
  const dir = mkdtempSync(join(tmpdir(), 'redisse-nchan-'))
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub))
  const port = await freePort()
  writeFileSync(
    join(dir, 'nginx.conf'),
    `load_module ${NCHAN};
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /sub { nchan_subscriber eventsource; nchan_channel_id interop; }
    location = /pub { nchan_publisher; nchan_channel_id interop; nchan_message_buffer_length 100; }
  }
}
`,
  )
  const nginx: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    {
      stdio: 'ignore',
    },
  )
  const pub = `http://127.0.0.1:${port}/pub`
  await waitFor(
    async () => (await fetch(pub, { method: 'GET' }).catch(() => undefined)) !== undefined,
    { what: 'nginx listening', timeout: 5000 },
  )
  const proxy = await startTcpProxy(port)
  return {
    url: `http://127.0.0.1:${proxy.port}/sub`,
    publish: async (data: string) => {
      const res = await fetch(pub, { method: 'POST', body: JSON.stringify(data) })
      if (res.status >= 300) throw new Error(`nchan publish answered ${res.status}`)
    },
    drop: () => proxy.drop(),
    async close() {
      await proxy.close()
      nginx.kill('SIGTERM')
      await new Promise((resolve) => nginx.once('exit', resolve))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

describe.each(TRANSPORTS.filter((t) => t.parsesStream))('the $name transport', (transport) => {
  it('resumes against Nchan by Last-Event-ID: the event of the gap once, nothing twice', async () => {
    const nchan = await startNchan()
    cleanups.push(() => nchan.close())
    const client = createClient<{ message: string }>(nchan.url, {
      ...transport.options,
      reconnect: { delay: 20 },
    })
    cleanups.push(() => client.close())
    const got: string[] = []
    client.on('message', (data) => got.push(data))
    let reconnecting = 0
    client.onState((state) => {
      if (state === 'reconnecting') reconnecting += 1
    })
    await waitFor(() => client.state === 'open', { what: 'client open' })
    await nchan.publish('a')
    await nchan.publish('b')
    await waitFor(() => got.length === 2, { what: `two events (got ${got})` })
    nchan.drop()
    await waitFor(() => reconnecting > 0, { what: 'the client sees the cut' })
    await nchan.publish('in the gap')
    await waitFor(() => client.state === 'open', { what: 'client open again', timeout: 10_000 })
    await nchan.publish('marker')
    await waitFor(() => got.includes('marker'), { what: `the marker (got ${got})` })
    expect(got).toEqual(['a', 'b', 'in the gap', 'marker'])
  })
})
