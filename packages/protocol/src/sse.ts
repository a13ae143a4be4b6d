import { RedisseError } from './errors'

/** One Server-Sent Event, before encoding. */
export interface SseFrame {
  /** `id:` field; must not contain CR, LF or NUL. */
  id?: string
  /** `event:` field; must not contain CR or LF. */
  event?: string
  /** Payload; every line break (CRLF, CR, LF) starts a new `data:` line. */
  data: string
}

const LINE_BREAK = /\r\n|\r|\n/

function assertField(name: string, value: string, { nul = false } = {}): void {
  if (value.includes('\n') || value.includes('\r') || (nul && value.includes('\0'))) {
    throw new RedisseError(
      'invalid-sse-field',
      `SSE field "${name}" must not contain CR, LF${nul ? ' or NUL' : ''}: it would end the line early`,
    )
  }
}

/**
 * Encodes one event as SSE text, ending with the blank line that dispatches it.
 * `data` is split on every line break so it comes back byte for byte through
 * any conforming parser (which joins `data:` lines with LF; CRLF and lone CR in
 * `data` therefore come back as LF, as the spec defines).
 *
 * @throws RedisseError `invalid-sse-field` when `id` or `event` contains a line break
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @example
 * ```ts
 * encodeEvent({ id: 'a-1', event: 'message', data: '{"text":"hi"}' })
 * // 'id: a-1\nevent: message\ndata: {"text":"hi"}\n\n'
 * ```
 */
export function encodeEvent(frame: SseFrame): string {
  let out = ''
  if (frame.id !== undefined) {
    assertField('id', frame.id, { nul: true })
    out += `id: ${frame.id}\n`
  }
  if (frame.event !== undefined) {
    assertField('event', frame.event)
    out += `event: ${frame.event}\n`
  }
  for (const line of frame.data.split(LINE_BREAK)) out += `data: ${line}\n`
  return `${out}\n`
}

/**
 * Encodes a comment (ignored by EventSource; used for keep-alives and to make
 * proxies flush headers). Multi-line text gives one comment line per line.
 *
 * No blank line follows: a comment line is ignored wherever it stands in a
 * block, so it simply joins the next event's block. A blank line after it
 * would end a block of its own, which `@microsoft/fetch-event-source` and
 * `extended-eventsource` report as an empty `message` event.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function encodeComment(text = ''): string {
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `:${line}\n`
  return out
}

/**
 * Encodes the `retry:` field (reconnection delay in ms, digits only). Like
 * {@link encodeComment}, no blank line follows: the field takes effect when
 * its line is read, and a block holding only it would be an empty `message`
 * event for some third-party clients.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#concept-event-stream-reconnection-time
 */
export function encodeRetry(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RedisseError(
      'invalid-option',
      `retry must be a non-negative integer of ms, got ${ms}`,
    )
  }
  return `retry: ${ms}\n`
}
