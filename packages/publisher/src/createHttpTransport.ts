import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EventMap,
  HttpPaths,
  integerOption,
  RedisseError,
} from '@redisse/protocol'
import { answerField } from './answerField'
import { createHttpClient } from './createHttpClient'
import { createHttpSubject } from './createHttpSubject'
import type { Publisher } from './Publisher'
import { type PreparedEvent, prepareEvent } from './prepareEvent'

/** Options of a publisher that talks to a Redisse server over HTTP. */
export interface HttpPublisherOptions {
  /** Base URL of a Redisse server, e.g. `http://localhost:4242`. */
  url: string
  /** The server's publish key (its `publishKey` option, `--publish-key`). */
  key: string
  /**
   * The `fetch` to use (a mock, or one with a custom dispatcher).
   * @defaultValue `globalThis.fetch`
   */
  fetch?: typeof fetch | undefined
  /**
   * Time allowed for each request, answer included, in ms.
   * @defaultValue 10000
   */
  timeout?: number | undefined
  /**
   * Largest payload, as JSON text in UTF-8 bytes (checked before sending;
   * the server has its own limit).
   * @defaultValue 65536
   */
  maxPayloadBytes?: number | undefined
}

/**
 * The JSON body of one event, built around the payload text already
 * validated, so the server gets exactly the bytes that were checked.
 */
function eventBody(event: PreparedEvent): string {
  const key =
    event.idempotencyKey === undefined
      ? ''
      : `,"idempotencyKey":${JSON.stringify(event.idempotencyKey)}`
  return `{"channel":${JSON.stringify(event.channel)},"type":${JSON.stringify(event.type)},"data":${event.json}${key}}`
}

/**
 * Publisher over a Redisse server's HTTP API (`POST /publish`,
 * `/subjects/…`), for backends without access to Redis or servers running
 * the embedded broker. Validates everything locally first.
 */
export function createHttpTransport<Events extends EventMap>(
  options: HttpPublisherOptions,
): Publisher<Events> {
  const maxPayloadBytes = integerOption(
    'maxPayloadBytes',
    options.maxPayloadBytes,
    1,
    DEFAULT_MAX_PAYLOAD_BYTES,
  )
  // Longer than the server's own publish timeout (5 s), so its answer arrives first.
  const timeout = integerOption('timeout', options.timeout, 1, 10_000)
  const http = createHttpClient({
    url: options.url,
    key: options.key,
    fetch: options.fetch,
    timeout,
  })

  return {
    async publish(channel, type, data, publishOptions = {}) {
      const event = prepareEvent(
        { channel, type, data, idempotencyKey: publishOptions.idempotencyKey },
        maxPayloadBytes,
      )
      const answer = await http.request('publish', 'POST', HttpPaths.publish, eventBody(event))
      return answerField('publish', answer, 'id', 'string')
    },
    async publishMany(events) {
      const prepared = events.map((event) => prepareEvent(event, maxPayloadBytes))
      if (prepared.length === 0) return []
      const body = `{"events":[${prepared.map(eventBody).join(',')}]}`
      const answer = await http.request('publish', 'POST', HttpPaths.publish, body)
      const ids = answerField('publish', answer, 'ids', 'string[]')
      if (ids.length !== prepared.length) {
        throw new RedisseError(
          'publish-failed',
          `the server answered ${ids.length} ids for ${prepared.length} events: is url a Redisse server of the same version?`,
        )
      }
      return ids
    },
    subject(id) {
      return createHttpSubject(id, http)
    },
    async close() {
      http.close()
    },
  }
}
