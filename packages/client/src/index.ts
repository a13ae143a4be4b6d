/**
 * The Redisse client for browsers and Node: typed listeners per event type,
 * reconnection with backoff and jitter, resume by `Last-Event-ID`, and
 * transports for every network (native EventSource, fetch streaming, long
 * polling).
 *
 * @example
 * ```ts
 * import { createClient } from '@redisse/client'
 *
 * type ChatEvents = { message: { user: string; text: string } }
 * const client = createClient<ChatEvents>('https://push.example.com/', { token })
 * client.on('message', (msg, meta) => console.log(meta.channel, msg.user, msg.text))
 * client.onState((state, info) => console.log(state, info.reason))
 * ```
 * @module
 */

export type { ClientOptions, TransportName } from './ClientOptions'
// The one export list is core's; this entry adds transports by name and
// shadows core's `createClient` (an explicit export wins over `export *`).
export * from './core'
export { createClient } from './createClient'
