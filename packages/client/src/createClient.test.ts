import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createClient } from './createClient'

const clients: Array<{ close(): void }> = []
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

function auto(options: Parameters<typeof createClient>[1]) {
  // Port 9 (discard) on loopback: nothing answers, nothing is sent anywhere.
  const client = createClient('http://127.0.0.1:9/', { ...options, reconnect: false })
  clients.push(client)
  return client.transport
}

describe("transport 'auto'", () => {
  it('picks the native EventSource when nothing needs headers', () => {
    expect(auto({ EventSource })).toBe('eventsource')
    expect(auto({ EventSource, token: 'sent as access_token' })).toBe('eventsource')
  })

  it('picks fetch when headers are needed or no EventSource exists', () => {
    expect(auto({ EventSource, headers: { 'x-app': '1' } })).toBe('fetch')
    expect(auto({})).toBe('fetch')
  })

  it('never picks websocket, even when only a WebSocket is given', () => {
    expect(auto({ WebSocket })).toBe('fetch')
    expect(auto({ WebSocket, EventSource })).toBe('eventsource')
  })

  it('picks websocket only by name', () => {
    expect(auto({ WebSocket, transport: 'websocket' })).toBe('websocket')
  })

  it('falls back to poll when the runtime cannot stream a fetch body', () => {
    const saved = globalThis.ReadableStream
    // @ts-expect-error: simulating an old webview without ReadableStream
    delete globalThis.ReadableStream
    try {
      expect(auto({})).toBe('poll')
    } finally {
      globalThis.ReadableStream = saved
    }
  })
})
