/**
 * A streaming UTF-8 decoder that drops exactly one leading BOM, as the
 * event-stream spec asks. `TextDecoder` does that itself, but Node 24 and 26
 * drop a second BOM too when the first one is split across chunks; so the
 * decoder keeps every BOM and the first one is removed here.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 * @returns decode(chunk) for each chunk, then decode() once at the end
 */
export function createStreamDecoder(): (chunk?: Uint8Array) => string {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  let started = false
  return (chunk) => {
    let text = chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true })
    if (!started && text.length > 0) {
      started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    return text
  }
}
