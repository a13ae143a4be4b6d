import { formatEventId } from './cursor'
import type { Envelope } from './envelope'
import { RedisseError } from './errors'
import { isValidChannel, isValidEventType } from './names'

/**
 * One event as JSON: a WebSocket text frame, or one item of a long-poll
 * answer. The same event as its SSE frame: `id` is the event id
 * (`<cursor>@<channel>`, absent on events the server wrote itself),
 * `type` the SSE `event:`, `channel` the channel it was published to
 * (absent on events of no single channel, such as `redisse:reset`), `data`
 * the published value (parsed, not JSON text).
 * @example
 * ```json
 * {"id":"k3x9a1b2-17@room:42","type":"message","channel":"room:42","data":{"text":"hi"}}
 * ```
 */
export interface EventFrame<T = unknown> {
  id?: string
  type: string
  channel?: string
  data: T
}

/**
 * Encodes a frame as JSON text, keys in the order `id, type, channel, data`.
 * @throws RedisseError `invalid-event-type` for an empty or multi-line type
 */
export function encodeEventFrame(frame: EventFrame): string {
  if (!isValidEventType(frame.type, { allowReserved: true })) {
    throw new RedisseError(
      'invalid-event-type',
      `invalid event type ${JSON.stringify(String(frame.type).slice(0, 60))} in an event frame`,
    )
  }
  return JSON.stringify({
    ...(frame.id === undefined ? {} : { id: frame.id }),
    type: frame.type,
    ...(frame.channel === undefined ? {} : { channel: frame.channel }),
    data: frame.data ?? null,
  })
}

/**
 * The JSON frame of one bus event, as every WebSocket and long-poll client
 * receives it. `data` is spliced in as the JSON text it was published as,
 * so the payload is never parsed on the server. `channelAsEvent` puts the
 * channel in `type`, as the SSE frame does.
 * @example
 * ```ts
 * encodeEnvelopeFrame({ id: 'k3x9a1b2-17', channel: 'c', type: 't', ts: 0, data: '[1]' })
 * // '{"id":"k3x9a1b2-17@c","type":"t","channel":"c","data":[1]}'
 * ```
 */
export function encodeEnvelopeFrame(envelope: Envelope, { channelAsEvent = false } = {}): string {
  const id = JSON.stringify(formatEventId(envelope.id, envelope.channel))
  const type = JSON.stringify(channelAsEvent ? envelope.channel : envelope.type)
  const channel = JSON.stringify(envelope.channel)
  return `{"id":${id},"type":${type},"channel":${channel},"data":${envelope.data === '' ? 'null' : envelope.data}}`
}

/**
 * Parses and checks a frame received as JSON text.
 * @throws RedisseError `invalid-frame` when it is not JSON or not an {@link EventFrame}
 */
export function parseEventFrame(text: string): EventFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new RedisseError('invalid-frame', 'event frame is not JSON', { cause })
  }
  if (!isEventFrame(value)) {
    throw new RedisseError(
      'invalid-frame',
      'event frame must be an object { id?: string, type: string, channel?: string, data }',
    )
  }
  return value
}

/** True for a value shaped as an {@link EventFrame} (valid type and channel names). */
export function isEventFrame(value: unknown): value is EventFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const frame = value as Record<string, unknown>
  if (!('data' in frame)) return false
  if (!isValidEventType(frame.type, { allowReserved: true })) return false
  if (frame.id !== undefined && typeof frame.id !== 'string') return false
  if (frame.channel !== undefined && !isValidChannel(frame.channel)) return false
  return true
}

/**
 * Close codes the server uses on WebSocket streams (1000-1011 from RFC 6455,
 * 4000-4999 for Redisse's own reasons).
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1
 */
export const WsCloseCodes = {
  /** The app closed the connection (`conn.close()`). */
  normal: 1000,
  /** The server is shutting down: reconnect shortly. */
  goingAway: 1001,
  /** The client sent a message the server does not take: no `push.onMessage`, or a binary one. */
  messagesNotAccepted: 1003,
  /** The client sent messages faster than the server's rate limit (`websocket.maxMessagesPerSecond`). */
  policyViolation: 1008,
  /** The client sent a message over the server's size limit. */
  messageTooLarge: 1009,
  /** The server failed (subscribing, replaying history). */
  internalError: 1011,
  /**
   * Token mode: the stream's access ended (the subject's channel list became
   * empty, the subject was cleared, or the stream's token was revoked or
   * expired). Reconnecting with the same token gives 401.
   */
  channelsRevoked: 4001,
} as const

/** One of {@link WsCloseCodes}. */
export type WsCloseCode = (typeof WsCloseCodes)[keyof typeof WsCloseCodes]

/**
 * The JSON answer of `GET /poll`: events after the cursor, oldest first, and
 * the cursor to send as `lastEventId` on the next poll (null only while the
 * log is empty).
 */
export interface PollResponse<T = unknown> {
  events: Array<EventFrame<T>>
  lastEventId: string | null
}

/**
 * Assembles a {@link PollResponse} from frames already encoded as JSON text
 * (shared with WebSocket connections), without parsing them again.
 */
export function encodePollResponse(frames: readonly string[], lastEventId: string | null): string {
  return `{"events":[${frames.join(',')}],"lastEventId":${JSON.stringify(lastEventId)}}`
}
