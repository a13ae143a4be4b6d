import { clientError } from './clientError'

/**
 * The most characters {@link parseEventStream} holds for one unfinished line
 * or one event's data (4 Mi): a server that never ends a line or a block
 * cannot grow the client's memory without bound.
 */
export const MAX_BUFFER_SIZE = 4 * 1024 * 1024

/** What {@link parseEventStream} reports, in stream order. */
export interface EventStreamCallbacks {
  /** The last event ID buffer, when a blank line ends a block that changed it (with or without data). */
  id(id: string): void
  /** A dispatched event: type (`message` by default) and data. */
  event(type: string, data: string): void
  /** A `retry:` field made of ASCII digits only, in ms. */
  retry(ms: number): void
}

// A CR at the end of a chunk may be the first half of a CRLF: the LF that
// opens the next chunk then ends nothing.
const LINE_END = /\r\n?|\n/g

/**
 * A WHATWG event-stream parser fed with decoded text chunks (decode with a
 * streaming `TextDecoder`, which also drops the one leading BOM). Lines end
 * on CR, LF or CRLF, even split across chunks; a block without data
 * dispatches nothing; an `id` containing NUL is ignored; `retry` takes ASCII
 * digits only; an unfinished block at the end of the stream is dropped.
 *
 * It replaces `eventsource-parser` in the fetch transport to hold the size
 * budget (this is about a fifth of its size), and is held to the same
 * conformance suite, fed byte by byte and in random chunks.
 *
 * @param maxBufferSize - bound of the unfinished line and of an event's data, in characters
 * @throws ClientError `payload-too-large` when a line or an event's data passes `maxBufferSize`
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function parseEventStream(
  callbacks: EventStreamCallbacks,
  maxBufferSize = MAX_BUFFER_SIZE,
): (chunk: string) => void {
  const bound = (text: string) => {
    if (text.length > maxBufferSize) {
      throw clientError(
        'payload-too-large',
        `a line or event of the stream passed ${maxBufferSize} characters`,
      )
    }
    return text
  }
  let rest = ''
  let afterCR = false
  let data: string | undefined
  let type = ''
  let id: string | undefined
  const line = (text: string) => {
    if (!text) {
      if (id !== undefined) callbacks.id(id)
      if (data !== undefined) callbacks.event(type || 'message', data.slice(0, -1))
      id = data = undefined
      type = ''
      return
    }
    const colon = text.indexOf(':')
    if (colon === 0) return
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? '' : text.slice(colon + 1)
    if (value[0] === ' ') value = value.slice(1)
    if (field === 'data') data = bound(`${data ?? ''}${value}\n`)
    else if (field === 'event') type = value
    else if (field === 'id' && !value.includes('\0')) id = value
    else if (field === 'retry' && /^\d+$/.test(value)) callbacks.retry(Number(value))
  }
  return (chunk) => {
    if (!chunk) return
    const text = rest + chunk
    let from = afterCR && text[0] === '\n' ? 1 : 0
    afterCR = false
    LINE_END.lastIndex = from
    for (let match = LINE_END.exec(text); match; match = LINE_END.exec(text)) {
      line(text.slice(from, match.index))
      from = LINE_END.lastIndex
      afterCR = match[0] === '\r' && from === text.length
    }
    rest = bound(text.slice(from))
  }
}
