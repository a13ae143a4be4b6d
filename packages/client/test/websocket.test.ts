import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WsCloseCodes } from '@redisse/protocol'
import { waitFor } from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { type Client, type ClientState, createClient, type StateInfo } from '../src/index'

interface Seen {
  kind: 'ws' | 'http'
  path: string
  lastEventId: string | null
  token: string | null
}

const frame = (id: string, data: unknown) =>
  JSON.stringify({ id, type: 'message', channel: id.split('@')[1], data })

/**
 * A scripted WebSocket server, one route per scenario:
 * - `/refuse/<status>`: the upgrade and any HTTP GET answered with that status;
 * - `/sse-only`: upgrades refused (404), GET answered with a 200 event stream;
 * - `/close/<code>`: sends ready and one event per connection, then closes
 *   with that code (`1006`: cuts the socket);
 * - `/garbage`: sends a frame that is not JSON.
 */
async function startWsServer() {
  const seen: Seen[] = []
  const record = (kind: Seen['kind'], req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://x')
    seen.push({
      kind,
      path: url.pathname,
      lastEventId: url.searchParams.get('lastEventId'),
      token: url.searchParams.get('access_token'),
    })
    return url
  }
  const answer = (status: number) => {
    const body = JSON.stringify({ error: { code: `status-${status}`, message: `said ${status}` } })
    const retry = status === 429 || status === 503 ? 'Retry-After: 1\r\n' : ''
    return `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${retry}Connection: close\r\n\r\n${body}`
  }
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = record('http', req)
    const status = Number(url.pathname.split('/')[2])
    if (url.pathname === '/sse-only') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(':ok\n\n')
      return
    }
    res.socket?.end(answer(status || 404))
  })
  const wss = new WebSocketServer({ noServer: true })
  let served = 0
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = record('ws', req)
    const [, route, arg] = url.pathname.split('/')
    if (route === 'refuse' || route === 'sse-only') {
      socket.end(answer(Number(arg) || 404))
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (route === 'garbage') {
        ws.send('not json')
        return
      }
      served += 1
      ws.send(JSON.stringify({ type: 'redisse:ready', data: null }))
      ws.send(frame(`e-${served}@room:${arg}`, `event ${served}`))
      if (arg === '1006') ws.terminate()
      else ws.close(Number(arg))
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async [Symbol.asyncDispose]() {
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    },
  }
}

function recordStates(client: Client) {
  const states: Array<[ClientState, StateInfo['reason'], StateInfo]> = []
  client.onState((state, info) => states.push([state, info.reason, info]))
  return states
}

const until = (check: () => unknown, what: string) => waitFor(check, { timeout: 5000, what })

describe('websocket transport', () => {
  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
  ])(
    'learns that an upgrade was refused with %i from one HTTP request and closes',
    async (status, reason) => {
      await using server = await startWsServer()
      const client = createClient(`${server.url}/refuse/${status}`, {
        transport: 'websocket',
        WebSocket,
        token: 'tok',
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map(([state, why]) => [state, why])).toEqual([['closed', reason]])
      const error = states[0]?.[2].error as { status?: number; code?: string }
      expect([error.status, error.code]).toEqual([status, `status-${status}`])
      expect(server.seen.map((s) => [s.kind, s.token])).toEqual([
        ['ws', 'tok'],
        ['http', 'tok'],
      ])
    },
  )

  it('waits for Retry-After when an upgrade was refused with 429', async () => {
    await using server = await startWsServer()
    const client = createClient(`${server.url}/refuse/429`, {
      transport: 'websocket',
      WebSocket,
      reconnect: { delay: 10 },
    })
    const states = recordStates(client)
    try {
      await until(() => states.length > 0, 'a state change')
    } finally {
      client.close()
    }
    expect(states[0]?.slice(0, 2)).toEqual(['reconnecting', 'http-error'])
    expect(states[0]?.[2].delay).toBe(1000)
  })

  it('retries as a network error when HTTP serves the stream but upgrades fail', async () => {
    await using server = await startWsServer()
    const client = createClient(`${server.url}/sse-only`, {
      transport: 'websocket',
      WebSocket,
      reconnect: { delay: 10, maxAttempts: 1 },
    })
    const states = recordStates(client)
    await until(() => client.state === 'closed', 'state closed')
    expect(states.map(([state, why]) => [state, why])).toEqual([
      ['reconnecting', 'network-error'],
      ['closed', 'max-attempts'],
    ])
  })

  it('treats close 4001 (channels revoked) as 401: onAuthError, else unauthorized', async () => {
    await using server = await startWsServer()
    const asked: unknown[] = []
    const client = createClient(`${server.url}/close/${WsCloseCodes.channelsRevoked}`, {
      transport: 'websocket',
      WebSocket,
      reconnect: { delay: 10 },
      onAuthError: (error) => {
        asked.push(error.status)
      },
    })
    const states = recordStates(client)
    const got: unknown[] = []
    client.on('message', (data) => got.push(data))
    await until(() => client.state === 'closed', 'state closed')
    expect(got).toEqual(['event 1'])
    expect(asked).toEqual([401])
    expect(states.map(([state, why]) => [state, why])).toEqual([
      ['open', undefined],
      ['closed', 'unauthorized'],
    ])
  })

  it.each([WsCloseCodes.normal, WsCloseCodes.goingAway, WsCloseCodes.internalError, 1006])(
    'reconnects after close %i and resumes after the last id, losing and repeating nothing',
    async (code) => {
      await using server = await startWsServer()
      const client = createClient(`${server.url}/close/${code}`, {
        transport: 'websocket',
        WebSocket,
        reconnect: { delay: 10 },
      })
      const got: string[] = []
      client.on('message', (data, meta) => got.push(`${meta.id} ${meta.channel} ${data}`))
      // The server's "channels live" frame opens the connection; it is no event.
      client.on('redisse:ready', (data) => got.push(`ready ${data}`))
      try {
        await until(() => got.length >= 3, `3 events (got ${got})`)
      } finally {
        client.close()
      }
      expect(got.slice(0, 3)).toEqual([
        `e-1@room:${code} room:${code} event 1`,
        `e-2@room:${code} room:${code} event 2`,
        `e-3@room:${code} room:${code} event 3`,
      ])
      expect(server.seen.slice(0, 3).map((s) => s.lastEventId)).toEqual([
        null,
        `e-1@room:${code}`,
        `e-2@room:${code}`,
      ])
      expect(server.seen.every((s) => s.kind === 'ws')).toBe(true)
    },
  )

  it('closes for good on a frame that is not JSON', async () => {
    await using server = await startWsServer()
    const client = createClient(`${server.url}/garbage`, {
      transport: 'websocket',
      WebSocket,
      reconnect: { delay: 10 },
    })
    const states = recordStates(client)
    await until(() => client.state === 'closed', 'state closed')
    expect(states.map(([state, why]) => [state, why])).toEqual([['closed', 'invalid-content-type']])
    expect(String(states[0]?.[2].error)).toContain('not a Redisse event frame')
  })
})
