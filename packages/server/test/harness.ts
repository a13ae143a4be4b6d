import {
  openSse,
  openWs,
  type SseEvent,
  type SseStream,
  uniquePrefix,
  type WsStream,
} from '@redisse/test-utils'
import { inject } from 'vitest'
import { createServer, type RedisseServer, type ServerOptions } from '../src/index'
import { createPartitionedEmbeddedBroker } from './partitionedEmbeddedBroker'

/** The two brokers every behavioural suite runs on. */
export const BROKERS = ['embedded', 'redis'] as const
/** `partitioned`: the embedded log split in 4 partitions (the cluster code path, in process). */
export type BrokerKind = (typeof BROKERS)[number] | 'partitioned'

/** The stream transports the behavioural suites run over. */
export const TRANSPORTS = ['sse', 'websocket'] as const
export type TransportKind = (typeof TRANSPORTS)[number]

/** Every broker with every stream transport, for `describe.each`. */
export const MATRIX = BROKERS.flatMap((broker) =>
  TRANSPORTS.map((transport) => [broker, transport] as const),
)

/** A stream of either transport, seen as an SSE stream plus the WebSocket when there is one. */
export type AnyStream = SseStream & { ws?: WsStream }

export interface Running {
  server: RedisseServer
  url: string
  transport: TransportKind
  /**
   * Opens a stream at `path` (default `/`) over the server's transport and
   * waits until it is live (`:ok`, or the `redisse:ready` frame) when accepted.
   */
  open(path?: string, headers?: Record<string, string>): Promise<AnyStream>
  /** Tries to open a stream: status (101 or 200 when accepted), headers and parsed body; closes it. */
  attempt(path?: string, headers?: Record<string, string>): Promise<Attempt>
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
  shared?: { prefix?: string; transport?: TransportKind },
): Promise<Running> {
  const transport = shared?.transport ?? 'sse'
  const redis =
    kind === 'redis'
      ? { redis: inject('redisUrl'), prefix: shared?.prefix ?? uniquePrefix('srv') }
      : {}
  const partitioned = kind === 'partitioned' ? { broker: createPartitionedEmbeddedBroker(4) } : {}
  const server = createServer({ logger: 'silent', ...redis, ...partitioned, ...options })
  const { port } = await server.listen(0, '127.0.0.1')
  const url = `http://127.0.0.1:${port}`
  const streams: AnyStream[] = []
  return {
    server,
    url,
    transport,
    async open(path = '/', headers = {}) {
      const stream =
        transport === 'sse'
          ? await openSse(url + path, { headers })
          : asSseStream(await openWs(url + path, { headers }))
      streams.push(stream)
      if (stream.status === 200) await stream.waitForComment('ok')
      return stream
    },
    async attempt(path = '/', headers = {}) {
      if (transport === 'sse') {
        const stream = await openSse(url + path, { headers })
        if (stream.status !== 200) await stream.ended
        stream.close()
        let body: unknown = stream.raw
        try {
          body = JSON.parse(stream.raw)
        } catch {}
        return { status: stream.status, headers: stream.headers, body }
      }
      const ws = await openWs(url + path, { headers })
      ws.close()
      let body: unknown = ws.body
      try {
        body = JSON.parse(ws.body)
      } catch {}
      return { status: ws.status, headers: ws.headers, body }
    },
    publish: (channel, type, data) => server.broker.publish({ channel, type, data }),
    async [Symbol.asyncDispose]() {
      for (const s of streams) s.close()
      await server.close()
    },
  }
}

/** What an attempt to open a stream got. */
export interface Attempt {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

/**
 * Shows a WebSocket stream as an SSE one, so one suite runs over both:
 * frames become events (`data` re-serialised, which gives the published
 * JSON text back), `redisse:ready` the `:ok` comment, 101 a 200, the close
 * the end of the stream.
 */
function asSseStream(ws: WsStream): AnyStream {
  const events: SseEvent[] = []
  const comments: string[] = []
  let seen = 0
  const sync = () => {
    for (; seen < ws.frames.length; seen++) {
      const frame = ws.frames[seen]
      if (!frame) continue
      if (frame.type === 'redisse:ready') comments.push('ok')
      else events.push({ id: frame.id, event: frame.type, data: JSON.stringify(frame.data) })
    }
  }
  ws.ws?.on('message', () => queueMicrotask(sync))
  const ended = ws.closed.then(() => {})
  return {
    status: ws.status === 101 ? 200 : ws.status,
    headers: ws.headers,
    get raw() {
      return ws.status === 101 ? JSON.stringify(ws.frames) : ws.body
    },
    events,
    comments,
    retry: undefined,
    ended,
    get isEnded() {
      return ws.isClosed
    },
    async waitForEvents(count, timeout) {
      await ws.waitForFrames(count, timeout, (f) => f.type !== 'redisse:ready')
      sync()
      return events
    },
    async waitForComment(text, timeout) {
      await ws.waitForFrames(1, timeout, (f) => f.type === 'redisse:ready')
      sync()
      if (!comments.includes(text)) throw new Error(`no comment ${text} on a WebSocket stream`)
    },
    close: () => ws.close(),
    ws,
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
