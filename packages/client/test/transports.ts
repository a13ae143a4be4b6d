import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import type { ClientOptions } from '../src/index'

/**
 * Every built-in transport, with what each can observe, for suites
 * parametrised over them. `speaksSse`: served by an SSE server (the
 * conformance server); the WebSocket one has its own in `websocket.test.ts`.
 */
export const TRANSPORTS = [
  {
    name: 'eventsource',
    speaksSse: true,
    options: { transport: 'eventsource', EventSource } satisfies ClientOptions,
    parsesStream: true,
    exactIdBuffer: false,
    seesRetryField: false,
    seesHeaders: false,
  },
  {
    name: 'fetch',
    speaksSse: true,
    options: { transport: 'fetch' } satisfies ClientOptions,
    parsesStream: true,
    exactIdBuffer: true,
    seesRetryField: true,
    seesHeaders: true,
  },
  {
    name: 'poll',
    speaksSse: true,
    options: { transport: 'poll' } satisfies ClientOptions,
    parsesStream: false,
    exactIdBuffer: true,
    seesRetryField: false,
    seesHeaders: true,
  },
  {
    name: 'websocket',
    speaksSse: false,
    options: { transport: 'websocket', WebSocket } satisfies ClientOptions,
    parsesStream: false,
    exactIdBuffer: true,
    seesRetryField: false,
    seesHeaders: false,
  },
] as const
