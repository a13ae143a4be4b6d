import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openSse } from '@redisse/test-utils'
import express from 'express'
import { expect, it } from 'vitest'
import { createServer } from '../src/index'
import { call } from './harness'

type WithUser = IncomingMessage & { user?: { id: string } }

async function listen(server: ReturnType<typeof createHttpServer>) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

it('mounts in Express under a path, reading what earlier middleware set (the Warden example)', async () => {
  const redisse = createServer({
    logger: 'silent',
    channels: (req) => {
      const user = (req as WithUser).user
      if (!user) throw Object.assign(new Error('no user'), { status: 401 })
      return [`user:${user.id}`]
    },
  })
  const app = express()
  app.use((req, _res, next) => {
    const id = req.headers['x-user']
    if (typeof id === 'string') (req as WithUser).user = { id }
    next()
  })
  app.use('/events', redisse.handler)
  app.get('/other', (_req, res) => {
    res.send('app route')
  })
  const http = createHttpServer(app)
  const url = await listen(http)
  try {
    const stream = await openSse(`${url}/events`, { headers: { 'x-user': '7' } })
    expect(stream.status).toBe(200)
    await stream.waitForComment('ok')
    await redisse.broker.publish({ channel: 'user:7', type: 'm', data: 'for 7' })
    expect((await stream.waitForEvents(1))[0]?.data).toBe('"for 7"')
    expect((await call(`${url}/events`)).status).toBe(401)
    expect((await call(`${url}/other`)).body).toBe('app route')
    stream.close()
  } finally {
    await redisse.close()
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
  }
})

it('mounts in a plain node:http server and calls next() for paths it does not serve', async () => {
  const redisse = createServer({ logger: 'silent', channels: () => ['a'] })
  const http = createHttpServer((req, res) =>
    redisse.handler(req, res, () => {
      res.writeHead(418).end('fallthrough')
    }),
  )
  const url = await listen(http)
  try {
    const fall = await call(`${url}/elsewhere`)
    expect([fall.status, fall.body]).toEqual([418, 'fallthrough'])
    const stream = await openSse(url)
    expect(stream.status).toBe(200)
    stream.close()
  } finally {
    await redisse.close()
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
  }
})

it("keeps a stream open past the host server's request and headers timeouts", async () => {
  const redisse = createServer({ logger: 'silent', channels: () => ['a'], keepAlive: 60_000 })
  const http = createHttpServer(
    {
      requestTimeout: 300,
      headersTimeout: 200,
      connectionsCheckingInterval: 50,
      keepAliveTimeout: 100,
    },
    redisse.handler,
  )
  http.timeout = 300
  const url = await listen(http)
  try {
    const stream = await openSse(url)
    await stream.waitForComment('ok')
    await new Promise((r) => setTimeout(r, 1000))
    expect(stream.isEnded).toBe(false)
    await redisse.broker.publish({ channel: 'a', type: 'm', data: 'still here' })
    expect((await stream.waitForEvents(1))[0]?.data).toBe('"still here"')
    stream.close()
  } finally {
    await redisse.close()
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
  }
})

it('writes every frame through a middleware that wraps res.write (compression, body loggers)', async () => {
  const redisse = createServer({ logger: 'silent', channels: () => ['wrapped'] })
  let seen = ''
  const app = express()
  app.use((_req, res, next) => {
    const write = res.write as (...args: unknown[]) => boolean
    res.write = function (this: typeof res, ...args: unknown[]) {
      seen += String(args[0])
      return write.apply(this, args)
    } as typeof res.write
    next()
  })
  app.use(redisse.handler)
  const http = createHttpServer(app)
  const url = await listen(http)
  try {
    const stream = await openSse(url)
    await stream.waitForComment('ok')
    await redisse.broker.publish({ channel: 'wrapped', type: 'm', data: 'through the wrapper' })
    expect((await stream.waitForEvents(1))[0]?.data).toBe('"through the wrapper"')
    expect(seen).toContain('data: "through the wrapper"')
    stream.close()
  } finally {
    await redisse.close()
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
  }
})
