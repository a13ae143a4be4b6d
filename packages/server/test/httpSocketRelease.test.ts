import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { waitFor } from '@redisse/test-utils'
import { afterEach, expect, it } from 'vitest'
import { createServer, type PushConnection, type ServerOptions } from '../src/index'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

interface Rig {
  url: { port: number }
  redisse: ReturnType<typeof createServer>
  /** Weak references to the last request and response the HTTP server saw. */
  seen: { req?: WeakRef<IncomingMessage>; res?: WeakRef<ServerResponse> }
  connections: PushConnection[]
  close(): Promise<void>
}

const rigs: Rig[] = []
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close()
})

async function startRig(
  watch?: (req: IncomingMessage, res: ServerResponse) => void,
  options: Partial<ServerOptions> = {},
): Promise<Rig> {
  const connections: PushConnection[] = []
  const redisse = createServer({
    ...options,
    logger: 'silent',
    channels: () => ['news'],
    push: { onOpen: (conn) => void connections.push(conn) },
  })
  const seen: Rig['seen'] = {}
  const http = createHttpServer((req, res) => {
    seen.req = new WeakRef(req)
    seen.res = new WeakRef(res)
    watch?.(req, res)
    void redisse.handler(req, res)
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
  const rig: Rig = {
    url: { port: (http.address() as AddressInfo).port },
    redisse,
    seen,
    connections,
    async close() {
      await redisse.close()
      http.closeAllConnections()
      await new Promise((r) => http.close(r))
    },
  }
  rigs.push(rig)
  return rig
}

/** A raw keep-alive client, so the test sees exact bytes and which connection carries them. */
async function rawClient(port: number): Promise<{ socket: Socket; text: () => string }> {
  const socket = connect(port, '127.0.0.1')
  await new Promise((r) => socket.once('connect', r))
  let received = ''
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8')
  })
  return { socket, text: () => received }
}

const STREAM_REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n'

async function collected(ref: WeakRef<object> | undefined): Promise<boolean> {
  for (let i = 0; i < 20; i += 1) {
    await new Promise((r) => setTimeout(r, 10))
    gc()
    if (ref?.deref() === undefined) return true
  }
  return false
}

/** Opens a stream and waits until node:http has let go of its response. */
async function openReleasedStream(rig: Rig): Promise<Awaited<ReturnType<typeof rawClient>>> {
  const client = await rawClient(rig.url.port)
  client.socket.write(STREAM_REQUEST)
  await waitFor(() => rig.connections.length === 1)
  expect(await collected(rig.seen.res)).toBe(true)
  return client
}

it('lets node:http collect the request and response of an open stream, and still delivers on it', async () => {
  const rig = await startRig()
  const client = await rawClient(rig.url.port)
  client.socket.write(STREAM_REQUEST)
  await waitFor(() => client.text().includes(':ok\n'))

  expect(await collected(rig.seen.req)).toBe(true)
  expect(await collected(rig.seen.res)).toBe(true)

  const id = await rig.redisse.broker.publish({ channel: 'news', type: 'headline', data: 'hi' })
  await waitFor(() => client.text().includes('data: "hi"'))
  expect(client.text()).toContain(`id: ${id}\nevent: headline\ndata: "hi"\n\n`)
  client.socket.destroy()
})

it('ends a released stream with the last chunk and serves the next request on the same connection', async () => {
  const rig = await startRig()
  const client = await openReleasedStream(rig)

  rig.connections[0]?.close()
  await waitFor(() => client.text().endsWith('0\r\n\r\n'))
  expect(client.text()).toContain('Connection: keep-alive')

  client.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await waitFor(() => client.text().split('HTTP/1.1 ').length === 3)
  expect(client.text().split('HTTP/1.1 ')[2]).toMatch(/^200 /)
  expect(client.socket.destroyed).toBe(false)
  client.socket.destroy()
})

it('counts a client that goes away from a released stream as closed', async () => {
  const rig = await startRig()
  const client = await openReleasedStream(rig)

  client.socket.destroy()
  await waitFor(() => rig.redisse.stats().connections === 0)
  expect(rig.connections[0]?.closed).toBe(true)
})

it('closes the connection of a client that half-closes a released stream', async () => {
  const rig = await startRig()
  const client = await openReleasedStream(rig)

  const closed = new Promise((r) => client.socket.once('close', r))
  client.socket.end()
  await closed
  await waitFor(() => rig.redisse.stats().connections === 0)
})

it('keeps the response on node:http when middleware waits for its end, and that middleware hears it', async () => {
  let closedSeen = false
  const rig = await startRig((_req, res) => {
    res.on('close', () => {
      closedSeen = true
    })
  })
  const client = await rawClient(rig.url.port)
  client.socket.write(STREAM_REQUEST)
  await waitFor(() => client.text().includes(':ok\n'))
  expect(await collected(rig.seen.res)).toBe(false)

  await rig.redisse.broker.publish({ channel: 'news', type: 'headline', data: 'still here' })
  await waitFor(() => client.text().includes('data: "still here"'))
  client.socket.destroy()
  await waitFor(() => closedSeen)
})

/** Serves a stream that stayed on node:http: delivers, then ends when the client leaves. */
async function expectStreamOnHttp(rig: Rig, onOpen: () => void = () => {}): Promise<void> {
  const client = await rawClient(rig.url.port)
  client.socket.write(STREAM_REQUEST)
  await waitFor(() => client.text().includes(':ok\n'))
  await waitFor(() => rig.connections.length === 1)
  // The release is tried once, on the turn after the stream opens.
  await new Promise((r) => setImmediate(r))
  onOpen()
  expect(await collected(rig.seen.res)).toBe(false)
  const id = await rig.redisse.broker.publish({ channel: 'news', type: 'headline', data: 'kept' })
  await waitFor(() => client.text().includes('data: "kept"'))
  expect(client.text()).toContain(`id: ${id}\nevent: headline\ndata: "kept"\n\n`)
  client.socket.destroy()
  await waitFor(() => rig.redisse.stats().connections === 0)
  expect(rig.connections[0]?.closed).toBe(true)
}

it('keeps every stream on node:http with releaseSockets: false, and delivers on it', async () => {
  await expectStreamOnHttp(await startRig(undefined, { releaseSockets: false }))
})

it('falls back to node:http when its parser is not the one expected (other Node internals)', async () => {
  let parser: Record<string, unknown> | undefined
  const rig = await startRig((req) => {
    // What a Node whose HTTPParser lacks unconsume() looks like to the release;
    // node:http itself needs it back later, on close.
    parser = (req.socket as unknown as { parser?: Record<string, unknown> }).parser ?? undefined
    if (parser) parser.unconsume = undefined
  })
  await expectStreamOnHttp(rig, () => {
    if (parser) delete parser.unconsume
  })
  expect(parser).toBeDefined()
})
