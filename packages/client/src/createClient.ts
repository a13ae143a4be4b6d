import type { EventMap } from '@redisse/protocol'
import type { Client } from './Client'
import type { ClientOptions, Lazy } from './ClientOptions'
import { createBaseClient } from './createBaseClient'
import { createSharedClient } from './createSharedClient'
import { eventSourceTransport } from './eventSourceTransport'
import { fetchTransport } from './fetchTransport'
import { createPollTransport } from './pollTransport'
import type { Transport } from './Transport'
import { websocketTransport } from './websocketTransport'

/**
 * Creates a Redisse client: one connection at a time to the server's event
 * stream, typed listeners per event type, reconnection with backoff and
 * resume from the last event id.
 *
 * `transport: 'auto'` (the default) picks the native `EventSource` when no
 * custom header is needed, else `fetch`, else `poll`; `client.transport`
 * says which. `'websocket'` is only used when asked for by name.
 * `shared: true` shares one connection between the tabs of the browser. For the smallest bundle, import `createClient` from
 * `@redisse/client/core` and pass the transport object yourself.
 *
 * @param url - the stream URL (`GET /` of the server), or a function giving it per attempt
 * @example
 * ```ts
 * type ChatEvents = { message: { user: string; text: string } }
 * const client = createClient<ChatEvents>('https://push.example.com/', { token })
 * const off = client.on('message', (msg, { channel }) => render(channel, msg.text))
 * ```
 */
export function createClient<Events extends EventMap = EventMap>(
  url: Lazy<string | URL>,
  options: ClientOptions<Events> = {},
): Client<Events> {
  const { transport = 'auto', pollUrl, pollTimeout } = options
  const poll = createPollTransport({
    ...(pollUrl === undefined ? {} : { url: new URL(pollUrl, globalThis.location?.href) }),
    ...(pollTimeout === undefined ? {} : { timeout: pollTimeout }),
  })
  const byName: Record<string, Transport | Transport[]> = {
    auto: [eventSourceTransport, fetchTransport, poll],
    eventsource: eventSourceTransport,
    fetch: fetchTransport,
    poll,
    websocket: websocketTransport,
  }
  const resolved = {
    ...options,
    transport:
      typeof transport !== 'string'
        ? transport
        : Object.hasOwn(byName, transport)
          ? (byName[transport] as Transport)
          : [],
  }
  return options.shared
    ? createSharedClient<Events>(url, resolved)
    : createBaseClient<Events>(url, resolved)
}
