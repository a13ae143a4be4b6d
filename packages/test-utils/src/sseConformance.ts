import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { chunkAt, randomChunks } from './chunks'

/** An event as a conforming client dispatches it (`id` is the last event id buffer, `''` for none). */
export interface ExpectedEvent {
  type: string
  data: string
  id: string
}

/** A stream body and what a WHATWG EventSource makes of it. */
export interface ParsingFixture {
  name: string
  body: string
  expected: ExpectedEvent[]
  /**
   * `id-buffer`: the client must see the last event ID buffer itself (id-only
   * blocks, empty ids). A wrapped EventSource only sees `lastEventId` on
   * events, and the npm `eventsource` package (4.x) reports each event's own
   * id there instead of the buffer, so these run where the buffer is exact.
   */
  requires?: 'id-buffer' | 'split-bom'
  /** The web-platform-tests `eventsource/` case this fixture is derived from. */
  wpt?: string
}

/**
 * Bodies that exercise the parsing rules of the WHATWG event-stream format.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export const PARSING_FIXTURES: ParsingFixture[] = [
  {
    name: 'strips one leading BOM, not a second one',
    body: '\uFEFF\uFEFFdata: skipped\n\ndata: kept\n\n',
    expected: [{ type: 'message', data: 'kept', id: '' }],
    requires: 'split-bom',
  },
  {
    name: 'a BOM after the start is part of the line',
    body: '\uFEFFdata: a\n\n\uFEFFdata: b\n\ndata: c\n\n',
    expected: [
      { type: 'message', data: 'a', id: '' },
      { type: 'message', data: 'c', id: '' },
    ],
  },
  {
    name: 'splits lines on CR, LF and CRLF',
    body: 'data: a\rdata: b\ndata: c\r\ndata: d\r\n\r\ndata: e\r\rdata: f\n\n',
    expected: [
      { type: 'message', data: 'a\nb\nc\nd', id: '' },
      { type: 'message', data: 'e', id: '' },
      { type: 'message', data: 'f', id: '' },
    ],
  },
  {
    name: 'decodes multi-byte UTF-8 split across chunks',
    body: 'data: héllo wörld 🎉 世界 ∑\n\n',
    expected: [{ type: 'message', data: 'héllo wörld 🎉 世界 ∑', id: '' }],
  },
  {
    name: 'joins data lines with LF and strips one space after the colon',
    body: 'data: a\ndata:b\ndata\ndata:  c\n\n',
    expected: [{ type: 'message', data: 'a\nb\n\n c', id: '' }],
  },
  {
    name: 'dispatches nothing for blocks without data',
    body: 'event: lonely\n\n: a comment\n\nunknown: field\n\ndata: only\n\n',
    expected: [{ type: 'message', data: 'only', id: '' }],
  },
  {
    name: 'an id-only block sets the id of the next event',
    body: 'id: 5\n\ndata: only\n\n',
    expected: [{ type: 'message', data: 'only', id: '5' }],
    requires: 'id-buffer',
  },
  {
    name: 'defaults the event type to message for each event',
    body: 'event: custom\ndata: a\n\ndata: b\n\nevent\ndata: c\n\n',
    expected: [
      { type: 'custom', data: 'a', id: '' },
      { type: 'message', data: 'b', id: '' },
      { type: 'message', data: 'c', id: '' },
    ],
  },
  {
    name: 'ignores an id containing NUL',
    body: 'id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n',
    expected: [
      { type: 'message', data: 'a', id: '1' },
      { type: 'message', data: 'b', id: '1' },
    ],
  },
  {
    name: 'keeps the last id across events',
    body: 'id: 7\ndata: a\n\ndata: b\n\ndata: c\n\n',
    expected: [
      { type: 'message', data: 'a', id: '7' },
      { type: 'message', data: 'b', id: '7' },
      { type: 'message', data: 'c', id: '7' },
    ],
  },
  {
    name: 'an empty id resets the last id',
    body: 'id: 7\ndata: a\n\nid\ndata: b\n\n',
    expected: [
      { type: 'message', data: 'a', id: '7' },
      { type: 'message', data: 'b', id: '' },
    ],
    requires: 'id-buffer',
  },
  // Derived from web-platform-tests eventsource/format-* (same rules, our own bodies).
  {
    name: 'format-field-data: a data line with nothing after the colon adds an empty line',
    wpt: 'format-field-data',
    body: 'data:\n\ndata\ndata\n\ndata:x\n\n',
    expected: [
      { type: 'message', data: '', id: '' },
      { type: 'message', data: '\n', id: '' },
      { type: 'message', data: 'x', id: '' },
    ],
  },
  {
    name: 'format-field-event: an event field sets the type of one event only',
    wpt: 'format-field-event',
    body: 'event: custom\ndata: 1\n\ndata: 2\n\n',
    expected: [
      { type: 'custom', data: '1', id: '' },
      { type: 'message', data: '2', id: '' },
    ],
  },
  {
    name: 'format-field-event-empty: an empty event field means message',
    wpt: 'format-field-event-empty',
    body: 'event: \ndata: d\n\n',
    expected: [{ type: 'message', data: 'd', id: '' }],
  },
  {
    name: 'format-field-id: an id persists over events without one',
    wpt: 'format-field-id',
    body: 'id: 1\ndata: a\n\ndata: b\n\n',
    expected: [
      { type: 'message', data: 'a', id: '1' },
      { type: 'message', data: 'b', id: '1' },
    ],
  },
  {
    name: 'format-field-id-2: id: with an empty value resets the last event id',
    wpt: 'format-field-id-2',
    body: 'id: 1\ndata: a\n\nid:\ndata: b\n\ndata: c\n\n',
    expected: [
      { type: 'message', data: 'a', id: '1' },
      { type: 'message', data: 'b', id: '' },
      { type: 'message', data: 'c', id: '' },
    ],
  },
  {
    name: 'format-field-id-3: ids persist and change, and an id field without colon resets',
    wpt: 'format-field-id-3',
    body: 'id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata: 3\n\ndata: 4\n\nid\ndata: 5\n\n',
    expected: [
      { type: 'message', data: '1', id: '1' },
      { type: 'message', data: '2', id: '1' },
      { type: 'message', data: '3', id: '2' },
      { type: 'message', data: '4', id: '2' },
      { type: 'message', data: '5', id: '' },
    ],
  },
  {
    name: 'format-field-id-null: an id holding NUL anywhere is ignored',
    wpt: 'format-field-id-null',
    body: 'id: \u0000\u0000\ndata: 1\n\nid: x\u0000\ndata: 2\n\nid: \u0000x\ndata: 3\n\nid: x\u0000x\ndata: 4\n\nid:  \u0000\ndata: 5\n\n',
    expected: ['1', '2', '3', '4', '5'].map((data) => ({ type: 'message', data, id: '' })),
  },
  {
    name: 'format-field-parsing: field names are exact and case-sensitive; NUL and spaces are kept in values',
    wpt: 'format-field-parsing',
    body: 'data:\u0000\ndata:  2\rData:1\ndata\u0000:2\ndata:1\r\u0000data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n',
    expected: [{ type: 'message', data: '\u0000\n 2\n1\n3\n\n4', id: '' }],
  },
  {
    name: 'format-field-unknown: unknown fields, lines without colon and comments are ignored',
    wpt: 'format-field-unknown',
    body: 'data:x\n data\ndata\nfoobar:xxx\njustsometext\n:acomment\ndata:x\n\n',
    expected: [{ type: 'message', data: 'x\n\nx', id: '' }],
  },
  {
    name: 'format-leading-space: only one leading space is stripped, a tab is kept',
    wpt: 'format-leading-space',
    body: 'data:\tx\rdata: \ndata:x\n\n',
    expected: [{ type: 'message', data: '\tx\n\nx', id: '' }],
  },
  {
    name: 'format-newlines: CRLF, LF and CR end lines alike',
    wpt: 'format-newlines',
    body: 'data:x\r\ndata\ndata:x\r\n\r',
    expected: [{ type: 'message', data: 'x\n\nx', id: '' }],
  },
  {
    name: 'format-null-character: a NUL in data comes through',
    wpt: 'format-null-character',
    body: 'data:\u0000\n\n\n\n',
    expected: [{ type: 'message', data: '\u0000', id: '' }],
  },
  {
    name: 'format-comments: comments anywhere, of any length, are ignored',
    wpt: 'format-comments',
    body: `data:1\r:\u0000\n:\r\ndata:2\n:${'x'.repeat(300)}\rdata:3\n:data:fail\r:${'x'.repeat(300)}\ndata:4\n\n`,
    expected: [{ type: 'message', data: '1\n2\n3\n4', id: '' }],
  },
  {
    name: 'format-utf-8: the body is UTF-8 whatever the charset says',
    wpt: 'format-utf-8',
    body: 'data: ok\u2026\n\n',
    expected: [{ type: 'message', data: 'ok\u2026', id: '' }],
  },
  {
    name: 'format-bom: one leading BOM is dropped',
    wpt: 'format-bom',
    body: '\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n',
    expected: [
      { type: 'message', data: '1', id: '' },
      { type: 'message', data: '3', id: '' },
    ],
  },
  {
    name: 'format-bom-2: a second BOM at the start is part of the first line',
    wpt: 'format-bom-2',
    // Split chunks meet the Node 24+ decoder bug under the eventsource package.
    requires: 'split-bom',
    body: '\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n',
    expected: [
      { type: 'message', data: '2', id: '' },
      { type: 'message', data: '3', id: '' },
    ],
  },
]

/** How the conformance server cuts a body: one chunk, one byte per chunk, or random cuts. */
export const CHUNKINGS = ['whole', 'bytes', 'random-1', 'random-7'] as const
export type Chunking = (typeof CHUNKINGS)[number]

/** The event the server sends after each parsing fixture, so a test knows the body is all in. */
export const END_EVENT = { type: 'end', data: 'done' } as const

export interface ConformanceRequest {
  path: string
  /** `Last-Event-ID` (its bytes read as UTF-8, as browsers send it), else the `lastEventId` query param. */
  lastEventId: string | undefined
  token: string | undefined
  headers: IncomingMessage['headers']
}

export interface ConformanceServer {
  url: string
  /** Every request, in order. */
  requests: ConformanceRequest[]
  [Symbol.asyncDispose](): Promise<void>
  close(): Promise<void>
}

function chunksOf(bytes: Uint8Array, chunking: string): Uint8Array[] {
  if (chunking === 'bytes') {
    return chunkAt(
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    )
  }
  if (chunking.startsWith('random-')) return randomChunks(bytes, Number(chunking.slice(7)))
  return [bytes]
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

function streamHead(
  res: ServerResponse,
  status = 200,
  contentType = 'text/event-stream; charset=utf-8',
): void {
  res.socket?.setNoDelay(true)
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-cache',
  })
  res.flushHeaders()
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

function unauthorized(res: ServerResponse): void {
  sendJson(res, 401, { error: { code: 'unauthorized', message: 'unknown or expired token' } })
}

/**
 * A real HTTP server (127.0.0.1, port 0) with one route per scenario of the
 * client conformance suite. Every stream route has a `/poll` twin that
 * follows the long-poll contract (`{ events, lastEventId }`).
 *
 * - `/parse/<fixture index>?chunks=<chunking>`: the fixture body, cut as asked,
 *   then {@link END_EVENT}; stays open.
 * - `/status/<code>`: answers that status (JSON error body); `/html`: a 200 HTML page.
 * - `/resume`: sends the event after the client's cursor (ids `1`..`3`,
 *   data `"e<n>"`), then ends the body (poll: answers it); after `3`, stays open.
 * - `/auth`: needs token `good` (query `access_token` or Bearer), else 401;
 *   then one event `"welcome"` and stays open.
 * - `/busy?times=<n>`: 429 with `Retry-After: 1` on the first n requests (default 1), then like `/auth` without auth.
 * - `/silent`: headers, then nothing (poll: never answers).
 * - `/welcome`: the welcome event, no auth; `/redirect/<code>`: that redirect to `/welcome`.
 * - `/mime?type=<content type>`: the welcome event under that content type.
 * - `/headers`: one event whose data is the JSON of the request headers.
 * - `/unicode`: an event with the id `é€` (beyond Latin-1), then the body
 *   ends; once the id comes back, event `"back"` and stays open.
 * - `/unfinished`: `data: "1"` then a block without its blank line, then the
 *   body ends; the next request gets {@link END_EVENT}.
 */
export async function startConformanceServer(): Promise<ConformanceServer> {
  const requests: ConformanceRequest[] = []
  const open = new Set<ServerResponse>()
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const poll = url.pathname.endsWith('/poll')
    const path = poll ? url.pathname.slice(0, -5) : url.pathname
    const header = req.headers['last-event-id'] as string | undefined
    const lastEventId =
      (header === undefined ? undefined : Buffer.from(header, 'latin1').toString('utf8')) ??
      url.searchParams.get('lastEventId') ??
      undefined
    const auth = req.headers.authorization
    const token =
      url.searchParams.get('access_token') ??
      (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)
    requests.push({ path: url.pathname, lastEventId, token, headers: req.headers })
    const [, route = '', arg = ''] = path.split('/')
    const welcome = () => {
      if (poll) {
        if (lastEventId) return // hangs: nothing new
        return sendJson(res, 200, {
          events: [{ id: 'w', type: 'message', channel: 'c', data: 'welcome' }],
          lastEventId: 'w',
        })
      }
      streamHead(res)
      res.write('id: w\ndata: "welcome"\n\n')
    }
    switch (route) {
      case 'parse': {
        const fixture = PARSING_FIXTURES[Number(arg)]
        if (!fixture) return sendJson(res, 404, {})
        streamHead(res)
        const bytes = new TextEncoder().encode(fixture.body)
        for (const chunk of chunksOf(bytes, url.searchParams.get('chunks') ?? 'whole')) {
          if (res.destroyed) return
          res.write(chunk)
          await wait(1)
        }
        res.write(`event: ${END_EVENT.type}\ndata: ${END_EVENT.data}\n\n`)
        return
      }
      case 'status': {
        const status = Number(arg)
        if (status === 204) return res.writeHead(204).end()
        if (url.searchParams.has('bare')) return res.writeHead(status).end(`status ${status}`)
        return sendJson(res, status, {
          error: { code: status >= 500 ? 'internal' : 'not-found', message: `status ${status}` },
        })
      }
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' })
        return res.end('<html><body>not a stream</body></html>')
      case 'resume': {
        const next = Number(lastEventId ?? 0) + 1
        if (next > 3) {
          if (!poll) streamHead(res)
          return
        }
        if (poll) {
          return sendJson(res, 200, {
            events: [{ id: String(next), type: 'message', channel: 'c', data: `e${next}` }],
            lastEventId: String(next),
          })
        }
        streamHead(res)
        res.end(`retry: 10\nid: ${next}\ndata: "e${next}"\n\n`)
        return
      }
      case 'auth':
        if (token !== 'good') return unauthorized(res)
        return welcome()
      case 'busy':
        if (
          requests.filter((r) => r.path === url.pathname).length <=
          Number(url.searchParams.get('times') ?? 1)
        ) {
          return sendJson(
            res,
            429,
            { error: { code: 'too-many-connections', message: 'busy' } },
            { 'retry-after': '1' },
          )
        }
        return welcome()
      case 'silent':
        if (!poll) streamHead(res)
        return
      case 'welcome':
        return welcome()
      case 'redirect':
        res.writeHead(Number(arg), { location: poll ? '/welcome/poll' : '/welcome' })
        return res.end()
      case 'mime':
        if (poll) return welcome()
        streamHead(res, 200, url.searchParams.get('type') ?? '')
        res.write('id: w\ndata: "welcome"\n\n')
        return
      case 'headers': {
        const data = JSON.stringify(req.headers)
        if (poll) {
          if (lastEventId) return
          return sendJson(res, 200, {
            events: [{ id: 'h', type: 'message', channel: 'c', data }],
            lastEventId: 'h',
          })
        }
        streamHead(res)
        res.write(`id: h\ndata: ${JSON.stringify(data)}\n\n`)
        return
      }
      case 'unicode': {
        const id = 'é€'
        if (lastEventId === id) {
          if (poll) {
            return sendJson(res, 200, {
              events: [{ id: 'z', type: 'message', channel: 'c', data: 'back' }],
              lastEventId: 'z',
            })
          }
          streamHead(res)
          res.write('data: "back"\n\n')
          return
        }
        if (lastEventId)
          return sendJson(res, 400, {
            error: { code: 'invalid-cursor', message: `got ${lastEventId}` },
          })
        if (poll) {
          return sendJson(res, 200, {
            events: [{ id, type: 'message', channel: 'c', data: 'first' }],
            lastEventId: id,
          })
        }
        streamHead(res)
        res.end(`retry: 10\nid: ${id}\ndata: "first"\n\n`)
        return
      }
      case 'unfinished':
        streamHead(res)
        if (requests.filter((r) => r.path === url.pathname).length > 1) {
          res.write(`event: ${END_EVENT.type}\ndata: ${END_EVENT.data}\n\n`)
          return
        }
        res.end('retry: 10\ndata: 1\n\ndata: 2')
        return
      default:
        return sendJson(res, 404, {})
    }
  }
  const server = createServer((req, res) => {
    open.add(res)
    res.on('close', () => open.delete(res))
    handle(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const close = async () => {
    for (const res of open) res.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { url: `http://127.0.0.1:${port}`, requests, close, [Symbol.asyncDispose]: close }
}
