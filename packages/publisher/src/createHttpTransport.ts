import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type ErrorBody,
  type EventMap,
  HttpPaths,
  RedisseError,
  validateChannel,
  validateSubject,
} from '@redisse/protocol'
import { prepareEvent } from './prepareEvent'
import type { PreparedEvent, Publisher, Subject } from './types'

/** Options of a publisher that talks to a Redisse server over HTTP. */
export interface HttpPublisherOptions {
  /** Base URL of a Redisse server, e.g. `http://localhost:4242`. */
  url: string
  /** The server's publish key (`--publish-key`). */
  key: string
  /** A `fetch` implementation. @defaultValue globalThis.fetch */
  fetch?: typeof fetch
  /** Per-request timeout, ms. @defaultValue 10000 */
  timeout?: number
  /** Largest `data`, JSON text in UTF-8 bytes. @defaultValue 65536 */
  maxPayloadBytes?: number
}

/** Publisher over the server's HTTP API (`POST /publish`, `/subjects/…`). */
export function createHttpTransport<Events extends EventMap>(
  options: HttpPublisherOptions,
): Publisher<Events> {
  const base = options.url.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch
  const timeout = options.timeout ?? 10_000
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES

  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response
    try {
      res = await doFetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${options.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeout),
      })
    } catch (cause) {
      if ((cause as Error)?.name === 'TimeoutError') {
        throw new RedisseError(
          'publish-timeout',
          `no answer from ${base} within ${timeout} ms (timeout)`,
          { cause },
        )
      }
      throw new RedisseError(
        'broker-unavailable',
        `cannot reach the Redisse server at ${base}: check url`,
        { cause },
      )
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const error = (parsed as Partial<ErrorBody> | undefined)?.error
      throw new RedisseError(
        error?.code ?? 'publish-failed',
        error?.message ?? `HTTP ${res.status} from ${base}${path}`,
        {
          status: res.status,
        },
      )
    }
    return parsed as T
  }

  const toBody = (e: PreparedEvent) => ({
    channel: e.channel,
    type: e.type,
    data: e.data,
    ...(e.idempotencyKey ? { idempotencyKey: e.idempotencyKey } : {}),
  })

  const subject = (rawId: string): Subject => {
    const id = validateSubject(rawId)
    return {
      id,
      async generateToken(opts = {}) {
        const body = opts.ttl === undefined ? {} : { ttl: opts.ttl }
        return (await request<{ token: string }>('POST', HttpPaths.subjectTokens(id), body)).token
      },
      async addChannel(channel) {
        validateChannel(channel)
        return (await request<{ added: boolean }>('PUT', HttpPaths.subjectChannel(id, channel)))
          .added
      },
      async removeChannel(channel) {
        validateChannel(channel)
        return (
          await request<{ removed: boolean }>('DELETE', HttpPaths.subjectChannel(id, channel))
        ).removed
      },
      async channels() {
        return (await request<{ channels: string[] }>('GET', HttpPaths.subjectChannels(id)))
          .channels
      },
      async clear() {
        await request('DELETE', HttpPaths.subject(id))
      },
    }
  }

  return {
    async publish(channel, type, data, opts = {}) {
      const event = prepareEvent(channel, type, data, opts.idempotencyKey, maxPayloadBytes)
      return (await request<{ id: string }>('POST', HttpPaths.publish, toBody(event))).id
    },
    async publishMany(events) {
      const prepared = events.map((e) =>
        prepareEvent(e.channel, e.type, e.data, e.idempotencyKey, maxPayloadBytes),
      )
      if (prepared.length === 0) return []
      return (
        await request<{ ids: string[] }>('POST', HttpPaths.publish, {
          events: prepared.map(toBody),
        })
      ).ids
    },
    subject,
    async close() {},
  }
}
