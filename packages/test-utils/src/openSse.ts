import { type IncomingHttpHeaders, request } from 'node:http'
import { createParser } from 'eventsource-parser'
import { waitFor } from './waitFor'

export interface SseEvent {
  id: string | undefined
  event: string | undefined
  data: string
}

export interface OpenSseOptions {
  headers?: Record<string, string>
  /** ms to wait for response headers. */
  timeout?: number
}

export interface SseStream {
  status: number
  headers: IncomingHttpHeaders
  /** Body text as received (for non-stream answers: the whole body once ended). */
  readonly raw: string
  readonly events: SseEvent[]
  readonly comments: string[]
  readonly retry: number | undefined
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>
  readonly isEnded: boolean
  /** Waits until at least `count` events arrived; returns them all. */
  waitForEvents(count: number, timeout?: number): Promise<SseEvent[]>
  /** Waits until a comment matching `text` arrived. */
  waitForComment(text: string, timeout?: number): Promise<void>
  close(): void
}

/** Opens a real HTTP request to an SSE endpoint and parses what arrives with eventsource-parser. */
export function openSse(url: string, options: OpenSseOptions = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { accept: 'text/event-stream', ...options.headers },
      timeout: options.timeout ?? 5000,
    })
    req.on('timeout', () => req.destroy(new Error(`no response headers from ${url}`)))
    req.on('error', reject)
    req.on('response', (res) => {
      req.setTimeout(0)
      let raw = ''
      let retry: number | undefined
      let isEnded = false
      const events: SseEvent[] = []
      const comments: string[] = []
      const parser = createParser({
        onEvent: (e) => events.push({ id: e.id, event: e.event, data: e.data }),
        onComment: (c) => comments.push(c),
        onRetry: (r) => {
          retry = r
        },
      })
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        raw += chunk
        parser.feed(chunk)
      })
      const ended = new Promise<void>((done) => {
        const finish = () => {
          isEnded = true
          done()
        }
        res.on('end', finish)
        res.on('close', finish)
        res.on('error', finish)
      })
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        get raw() {
          return raw
        },
        events,
        comments,
        get retry() {
          return retry
        },
        ended,
        get isEnded() {
          return isEnded
        },
        async waitForEvents(count, timeout = 5000) {
          await waitFor(() => events.length >= count, {
            timeout,
            what: `${count} events (got ${events.length}: ${raw.slice(-500)})`,
          })
          return events
        },
        async waitForComment(text, timeout = 5000) {
          await waitFor(() => comments.some((c) => c.includes(text)), {
            timeout,
            what: `comment "${text}"`,
          })
        },
        close() {
          req.destroy()
          res.destroy()
        },
      })
    })
    req.end()
  })
}
