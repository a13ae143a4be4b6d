import type { IncomingHttpHeaders } from 'node:http'
import { WebSocket } from 'ws'
import { waitFor } from './waitFor'

/** One JSON frame received on a WebSocket stream. */
export interface WsFrame {
  id?: string
  type: string
  channel?: string
  data: unknown
}

export interface OpenWsOptions {
  headers?: Record<string, string>
  /** ms to wait for the handshake. */
  timeout?: number
}

export interface WsStream {
  /** 101 once upgraded, else the HTTP status of the refusal. */
  status: number
  headers: IncomingHttpHeaders
  /** Body of a refused upgrade. */
  body: string
  readonly ws: WebSocket | undefined
  /** Every frame received, parsed, in order. */
  readonly frames: WsFrame[]
  /** Resolves with the close code and reason once the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>
  readonly isClosed: boolean
  /** Waits until at least `count` frames whose type matches `filter` (all by default) arrived. */
  waitForFrames(
    count: number,
    timeout?: number,
    filter?: (f: WsFrame) => boolean,
  ): Promise<WsFrame[]>
  send(text: string | Buffer): void
  close(): void
}

/**
 * Opens a real WebSocket (the `ws` client) to a stream URL (`http://` is
 * turned into `ws://`) and parses each text frame as JSON. A refused
 * upgrade resolves too, with its HTTP status and body.
 */
export function openWs(url: string, options: OpenWsOptions = {}): Promise<WsStream> {
  const wsUrl = url.replace(/^http/, 'ws')
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      headers: options.headers ?? {},
      handshakeTimeout: options.timeout ?? 5000,
      perMessageDeflate: false,
    })
    const frames: WsFrame[] = []
    let isClosed = false
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.on('close', (code, reason) => {
        isClosed = true
        done({ code, reason: reason.toString('utf8') })
      })
    })
    ws.on('message', (data, isBinary) => {
      if (!isBinary) frames.push(JSON.parse(String(data)) as WsFrame)
    })
    const stream = (status: number, headers: IncomingHttpHeaders, body: string): WsStream => ({
      status,
      headers,
      body,
      ws: status === 101 ? ws : undefined,
      frames,
      closed,
      get isClosed() {
        return isClosed
      },
      async waitForFrames(count, timeout = 5000, filter = () => true) {
        await waitFor(() => frames.filter(filter).length >= count, {
          timeout,
          what: `${count} frames (got ${JSON.stringify(frames).slice(-500)})`,
        })
        return frames.filter(filter)
      },
      send: (text) => ws.send(text),
      close: () => ws.terminate(),
    })
    ws.on('upgrade', (res) => resolve(stream(101, res.headers, '')))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        isClosed = true
        resolve(stream(res.statusCode ?? 0, res.headers, body))
      })
    })
    ws.on('error', (err) => {
      if (ws.readyState === ws.CONNECTING) reject(err)
    })
  })
}
