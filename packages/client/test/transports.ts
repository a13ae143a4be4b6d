import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import type { ClientOptions } from '../src/index'

/**
 * False on Node 24 and 26, whose streaming TextDecoder drops a second BOM
 * when the first is split across chunks: the `eventsource` package decodes
 * with it (our fetch transport works around it; browsers are not affected).
 */
function decoderKeepsSecondBom(): boolean {
  const decoder = new TextDecoder()
  const bytes = new TextEncoder().encode('\uFEFF\uFEFFx')
  const text =
    decoder.decode(bytes.subarray(0, 1), { stream: true }) + decoder.decode(bytes.subarray(1))
  return text === '\uFEFFx'
}

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
    exactSplitBom: decoderKeepsSecondBom(),
    seesRetryField: false,
    seesHeaders: false,
  },
  {
    name: 'fetch',
    speaksSse: true,
    options: { transport: 'fetch' } satisfies ClientOptions,
    parsesStream: true,
    exactIdBuffer: true,
    exactSplitBom: true,
    seesRetryField: true,
    seesHeaders: true,
  },
  {
    name: 'poll',
    speaksSse: true,
    options: { transport: 'poll' } satisfies ClientOptions,
    parsesStream: false,
    exactIdBuffer: true,
    exactSplitBom: true,
    seesRetryField: false,
    seesHeaders: true,
  },
  {
    name: 'websocket',
    speaksSse: false,
    options: { transport: 'websocket', WebSocket } satisfies ClientOptions,
    parsesStream: false,
    exactIdBuffer: true,
    exactSplitBom: true,
    seesRetryField: false,
    seesHeaders: false,
  },
] as const
