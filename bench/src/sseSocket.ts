import { connect, type Socket } from 'node:net'

/** Called once per event that carries a publish timestamp (`"t":<ms>`). */
export type OnEvent = (sentAt: number) => void

/** Where the publish timestamp starts in an event's data. */
export const T_MARK = '"t":'

/**
 * One SSE stream over a raw TCP socket: writes the GET by hand, decodes
 * `Transfer-Encoding: chunked` when the server uses it, and hands each
 * event's publish timestamp to `onEvent`. Only as much of SSE as the bench
 * needs: events end at a blank line, the `id:` of the newest is kept for
 * reconnecting with Last-Event-ID.
 */
export class SseSocket {
  socket: Socket | undefined
  lastId: string | undefined
  private headerText = ''
  private inBody = false
  private chunked = false
  /** Bytes left in the current chunk; -1 while reading a chunk-size line. */
  private chunkLeft = -1
  private sizeLine = ''
  /** Skips the CRLF after a chunk's data. */
  private skipCrlf = 0
  private text = ''

  constructor(
    private readonly port: number,
    private readonly localAddress: string,
    private readonly path: string,
    private readonly onEvent: OnEvent,
  ) {}

  /** Opens the stream; resolves once the response headers are in (status 200). */
  open(): Promise<void> {
    this.headerText = ''
    this.inBody = false
    this.chunked = false
    this.chunkLeft = -1
    this.sizeLine = ''
    this.skipCrlf = 0
    this.text = ''
    return new Promise((resolve, reject) => {
      const socket = connect({
        port: this.port,
        host: '127.0.0.1',
        ...(this.localAddress === '' ? {} : { localAddress: this.localAddress }),
      })
      this.socket = socket
      let settled = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        socket.destroy()
        reject(err)
      }
      socket.setNoDelay(true)
      socket.on('error', fail)
      socket.on('close', () => fail(new Error('closed before headers')))
      socket.on('connect', () => {
        const last = this.lastId === undefined ? '' : `Last-Event-ID: ${this.lastId}\r\n`
        socket.write(
          `GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nAccept: text/event-stream\r\n${last}\r\n`,
        )
      })
      socket.on('data', (chunk: Buffer) => {
        if (this.inBody) {
          this.body(chunk)
          return
        }
        this.headerText += chunk.toString('latin1')
        const end = this.headerText.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = this.headerText.slice(0, end)
        const rest = this.headerText.slice(end + 4)
        this.headerText = ''
        if (!head.startsWith('HTTP/1.1 200')) {
          fail(new Error(head.split('\r\n')[0] ?? 'bad response'))
          return
        }
        this.inBody = true
        this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head)
        settled = true
        resolve()
        if (rest.length > 0) this.body(Buffer.from(rest, 'latin1'))
      })
    })
  }

  private body(chunk: Buffer): void {
    if (!this.chunked) {
      this.sse(chunk.toString('latin1'))
      return
    }
    let at = 0
    while (at < chunk.length) {
      if (this.skipCrlf > 0) {
        const n = Math.min(this.skipCrlf, chunk.length - at)
        this.skipCrlf -= n
        at += n
        continue
      }
      if (this.chunkLeft < 0) {
        const nl = chunk.indexOf(10, at)
        if (nl < 0) {
          this.sizeLine += chunk.toString('latin1', at)
          return
        }
        this.sizeLine += chunk.toString('latin1', at, nl)
        at = nl + 1
        this.chunkLeft = Number.parseInt(this.sizeLine, 16)
        this.sizeLine = ''
        if (!(this.chunkLeft > 0)) this.chunkLeft = -1
        continue
      }
      const n = Math.min(this.chunkLeft, chunk.length - at)
      this.sse(chunk.toString('latin1', at, at + n))
      at += n
      this.chunkLeft -= n
      if (this.chunkLeft === 0) {
        this.chunkLeft = -1
        this.skipCrlf = 2
      }
    }
  }

  private sse(text: string): void {
    this.text = this.text.length === 0 ? text : this.text + text
    let start = 0
    for (;;) {
      const end = this.text.indexOf('\n\n', start)
      if (end < 0) break
      this.event(this.text, start, end)
      start = end + 2
    }
    this.text = start === 0 ? this.text : this.text.slice(start)
  }

  private event(text: string, start: number, end: number): void {
    const t = text.indexOf(T_MARK, start)
    if (t < 0 || t > end) return
    const numEnd = text.indexOf(',', t)
    this.onEvent(Number(text.slice(t + T_MARK.length, numEnd)))
    if (text.startsWith('id:', start)) {
      const nl = text.indexOf('\n', start)
      this.lastId = text.slice(start + 3, nl).trim()
    }
  }

  close(): void {
    this.socket?.destroy()
  }
}
