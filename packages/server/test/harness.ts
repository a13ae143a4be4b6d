import { openSse, type SseStream, uniquePrefix } from '@redisse/test-utils'
import { inject } from 'vitest'
import { createServer, type RedisseServer, type ServerOptions } from '../src/index'

/** The two brokers every behavioural suite runs on. */
export const BROKERS = ['embedded', 'redis'] as const
export type BrokerKind = (typeof BROKERS)[number]

export interface Running {
  server: RedisseServer
  url: string
  /** Opens a stream at `path` (default `/`) and waits for `:ok` when it is a 200. */
  open(path?: string, headers?: Record<string, string>): Promise<SseStream>
  publish(channel: string, type: string, data: unknown): Promise<string>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Starts a server on 127.0.0.1, port 0, on the given broker (the Redis one
 * under a key prefix of its own); `await using` closes it and its streams.
 */
export async function startServer(
  kind: BrokerKind,
  options: ServerOptions,
  shared?: { prefix?: string },
): Promise<Running> {
  const redis =
    kind === 'redis'
      ? { redis: inject('redisUrl'), prefix: shared?.prefix ?? uniquePrefix('srv') }
      : {}
  const server = createServer({ logger: 'silent', ...redis, ...options })
  const { port } = await server.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${port}`
  const streams: SseStream[] = []
  return {
    server,
    url,
    async open(path = '/', headers = {}) {
      const stream = await openSse(url + path, { headers })
      streams.push(stream)
      if (stream.status === 200) await stream.waitForComment('ok')
      return stream
    },
    publish: (channel, type, data) => server.broker.publish({ channel, type, data }),
    async [Symbol.asyncDispose]() {
      for (const s of streams) s.close()
      await server.close()
    },
  }
}

/** Sends an HTTP request and returns status, headers and parsed JSON (or text). */
export async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, body }
}
