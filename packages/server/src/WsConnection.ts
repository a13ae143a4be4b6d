import type { Duplex } from 'node:stream'
import { type EventFrame, encodeEventFrame, ReservedEvents, WsCloseCodes } from '@redisse/protocol'
import type { WebSocket } from 'ws'
import { Connection, type ConnectionHost } from './Connection'
import type { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

/** How long a closing handshake may take before the socket is cut, ms. */
const CLOSE_GRACE = 2000

/** One open WebSocket stream: JSON text frames out, ping/pong as keep-alive. */
export class WsConnection extends Connection {
  readonly transport = 'websocket'
  private alive = true
  private awaitingDrain = false
  /** Close code and reason to send when the connection ends for a protocol error. */
  private protocolClose: { code: number; reason: string } | undefined
  /** Token bucket of client messages: what may still be sent now, refilled with time. */
  private allowance: number
  private allowanceAt = Date.now()

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    subject: string | undefined,
    host: ConnectionHost,
    private readonly onText: ((connection: WsConnection, text: string) => void) | undefined,
  ) {
    super(subject, host)
    this.allowance = host.maxMessagesPerSecond ?? Infinity
    ws.on('pong', () => {
      this.alive = true
    })
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary))
    ws.on('close', () => this.close('client-closed'))
    ws.on('error', (err) => {
      // ws closes with 1009 itself for an oversized message, then emits close.
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.close('protocol-error')
      } else {
        this.close('write-error')
      }
    })
    socket.on('drain', () => {
      if (!this.awaitingDrain || this.closed) return
      this.awaitingDrain = false
      this.drained()
    })
  }

  /** Bytes queued for the network (`ws.bufferedAmount`). */
  get pending(): number {
    return this.ws.bufferedAmount
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return
    if (!this.onText || isBinary) {
      this.protocolClose = {
        code: WsCloseCodes.messagesNotAccepted,
        reason: isBinary
          ? 'binary messages are not accepted'
          : 'client messages are not accepted (no push.onMessage)',
      }
      this.close('protocol-error')
      return
    }
    if (!this.takeAllowance()) {
      const rate = this.host.maxMessagesPerSecond
      this.protocolClose = {
        code: WsCloseCodes.policyViolation,
        reason: `too many messages: at most ${rate} per second`,
      }
      this.close('protocol-error')
      return
    }
    // ws hands text messages over as one Buffer (binaryType 'nodebuffer').
    const text = data.toString('utf8')
    this.onText(this, text)
  }

  /** One message's worth of the rate limit; false when the client is over it. */
  private takeAllowance(): boolean {
    const rate = this.host.maxMessagesPerSecond ?? Infinity
    if (rate === Infinity) return true
    const now = Date.now()
    this.allowance = Math.min(rate, this.allowance + ((now - this.allowanceAt) * rate) / 1000)
    this.allowanceAt = now
    if (this.allowance < 1) return false
    this.allowance -= 1
    return true
  }

  private sendText(data: Buffer | string): boolean {
    if (!this.canWrite()) return false
    this.ws.send(data, { binary: false })
    if ((this.socket as { writableNeedDrain?: boolean }).writableNeedDrain)
      this.awaitingDrain = true
    return true
  }

  // ws writes each frame to the socket at once: corked, a batch of frames
  // leaves in one writev.
  protected override cork(): void {
    this.socket.cork()
  }

  protected override uncork(): void {
    this.socket.uncork()
  }

  protected writeEvent(event: OutgoingEvent): boolean {
    return this.sendText(event.wsBytes)
  }

  protected writeFrame(frame: EventFrame): boolean {
    return this.sendText(encodeEventFrame(frame))
  }

  /** Tells the client its channels are live and its replay sent (the SSE stream's `:ok`). */
  ready(): void {
    this.writeFrame({ type: ReservedEvents.ready, data: null })
  }

  /** Pings; a client that did not answer the previous ping is gone. */
  heartbeat(): void {
    if (this.closed) return
    if (!this.alive) {
      this.close('client-closed')
      return
    }
    this.alive = false
    this.ws.ping()
  }

  protected end(reason: CloseReason): void {
    const { ws } = this
    if (ws.readyState === ws.CLOSED) return
    switch (reason) {
      case 'slow-client':
      case 'write-error':
      case 'client-closed':
        ws.terminate()
        return
      case 'server-shutdown':
        ws.close(WsCloseCodes.goingAway, 'server shutting down')
        break
      case 'channels-revoked':
        ws.close(WsCloseCodes.channelsRevoked, 'channels revoked')
        break
      case 'token-revoked':
        ws.close(WsCloseCodes.channelsRevoked, 'token revoked')
        break
      case 'token-expired':
        ws.close(WsCloseCodes.channelsRevoked, 'token expired')
        break
      case 'protocol-error':
        // Without a code of ours, ws is already closing (1009 for an oversized message).
        if (this.protocolClose) ws.close(this.protocolClose.code, this.protocolClose.reason)
        break
      case 'answered':
      case 'app-closed':
        ws.close(WsCloseCodes.normal)
        break
      case 'broker-unavailable':
        ws.close(WsCloseCodes.internalError, 'broker unavailable: reconnect')
        break
      default:
        reason satisfies never
    }
    setTimeout(() => ws.terminate(), CLOSE_GRACE).unref()
  }
}
