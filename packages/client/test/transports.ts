import { EventSource } from 'eventsource'
import { WebSocket } from 'ws'
import type { ClientOptions } from '../src/index'
import { parseEventStream } from '../src/parseEventStream'

/**
 * The npm `eventsource` package made to behave as a browser's EventSource:
 * - the HTTP status and message of a failed connection are hidden (browsers
 *   fire a bare `error` event), so the client must learn them itself;
 * - `lastEventId` of each message is the last event ID buffer, as the spec
 *   says (the package reports each event's own id, `''` when it has none):
 *   the body is read once more, ahead of the package, by our spec parser.
 */
export class BrowserEventSource extends EventSource {
  #onerror: ((event: Event) => void) | null = null
  #buffer = ''
  #ids: string[] = []
  constructor(url: string | URL, init?: { withCredentials?: boolean }) {
    const track = (response: Response) => {
      if (!response.body) return response
      const ids = (this as BrowserEventSource).#ids
      const decoder = new TextDecoder()
      const feed = parseEventStream({
        id: (id) => {
          this.#buffer = id
        },
        event: () => ids.push(this.#buffer),
        retry: () => {},
      })
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            feed(decoder.decode(chunk, { stream: true }))
            controller.enqueue(chunk)
          },
        }),
      )
      return new Response(body, response)
    }
    // Browsers send Last-Event-ID as UTF-8 bytes; fetch takes header values
    // as ByteStrings (one char per byte), so the bytes go as chars.
    const utf8Bytes = (text: string) =>
      Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join('')
    const fetchAsBrowsers: typeof fetch = (input, options) => {
      const headers = new Headers()
      for (const [name, value] of Object.entries(
        (options?.headers ?? {}) as Record<string, string>,
      )) {
        headers.set(name, name.toLowerCase() === 'last-event-id' ? utf8Bytes(value) : value)
      }
      return fetch(input, { ...options, headers }).then(track)
    }
    super(url, { ...init, fetch: fetchAsBrowsers })
    // The package calls its `onerror` property itself, with the status on the event.
    super.onerror = () => this.#onerror?.(new Event('error'))
  }
  override get onerror() {
    return this.#onerror
  }
  override set onerror(listener: ((event: Event) => void) | null) {
    this.#onerror = listener
  }
  override dispatchEvent(event: Event): boolean {
    if (!(event instanceof MessageEvent)) return super.dispatchEvent(event)
    const lastEventId = this.#ids.shift() ?? ''
    return super.dispatchEvent(new MessageEvent(event.type, { data: event.data, lastEventId }))
  }
}

/**
 * False on Node 24 and 26, whose streaming TextDecoder drops a second BOM
 * when the first is split across chunks: the `eventsource` package decodes
 * with it (our fetch transport works around it; browsers are not affected).
 */
function decoderKeepsSecondBom(): boolean {
  const bytes = new TextEncoder().encode('\uFEFF\uFEFFx')
  // Every place the chunks may split the bytes, as the random chunkings do.
  for (let at = 1; at < bytes.length; at++) {
    const decoder = new TextDecoder()
    const text =
      decoder.decode(bytes.subarray(0, at), { stream: true }) + decoder.decode(bytes.subarray(at))
    if (text !== '\uFEFFx') return false
  }
  return true
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
    options: { transport: 'eventsource', EventSource: BrowserEventSource } satisfies ClientOptions,
    parsesStream: true,
    /** A failure costs one more request: the fetch that learns the status. */
    probes: true,
    exactIdBuffer: true,
    exactSplitBom: decoderKeepsSecondBom(),
    seesRetryField: false,
    seesHeaders: false,
  },
  {
    name: 'fetch',
    speaksSse: true,
    options: { transport: 'fetch' } satisfies ClientOptions,
    parsesStream: true,
    probes: false,
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
    probes: false,
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
    probes: true,
    exactIdBuffer: true,
    exactSplitBom: true,
    seesRetryField: false,
    seesHeaders: false,
  },
] as const
