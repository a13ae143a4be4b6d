import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer, type RedisseServer } from '@redisse/server'
import { createClock } from './createClock'

const pages: Record<string, string> = {
  '/sse.html': readFileSync(new URL('../public/sse.html', import.meta.url), 'utf8'),
  '/websocket.html': readFileSync(new URL('../public/websocket.html', import.meta.url), 'utf8'),
}

/**
 * The whole example: the two pages, and every other request (the stream on
 * `/`, SSE or a WebSocket upgrade) to Redisse, on one port.
 */
export async function createClockServer({
  port = 4243,
  host = '127.0.0.1',
  interval = 1000,
  log = console.log,
} = {}): Promise<{
  url: string
  redisse: RedisseServer
  http: Server
  close(): Promise<void>
}> {
  const clock = createClock({ interval, log })
  const redisse = createServer({
    logger: 'warn',
    // Every client hears the `clock` channel (publish there to reach them
    // all through the bus); the ticks themselves are written per connection.
    channels: () => ['clock'],
    push: clock.handler,
  })
  const http = createHttpServer((req, res) => {
    const page = pages[new URL(req.url ?? '/', 'http://x').pathname]
    if (page === undefined) {
      redisse.handler(req, res)
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(page)
  })
  http.on('upgrade', (req, socket, head) => redisse.upgrade(req, socket, head))
  await new Promise<void>((resolve) => http.listen(port, host, resolve))
  const address = http.address() as AddressInfo
  return {
    url: `http://${host}:${address.port}`,
    redisse,
    http,
    async close() {
      clock.stop()
      await redisse.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    },
  }
}
