import type { Socket } from 'node:net'

/**
 * Length of the first whole RESP2/RESP3 value in `buf` from `at`, or
 * undefined while it is incomplete; its strings are pushed to `words`.
 */
export function frameEnd(buf: Buffer, at: number, words: string[]): number | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at] ?? 0)
  const head = buf.toString('latin1', at + 1, eol)
  if ('$!='.includes(type)) {
    const n = Number(head)
    if (n < 0) return eol + 2
    if (buf.length < eol + 2 + n + 2) return undefined
    words.push(buf.toString('latin1', eol + 2, eol + 2 + n))
    return eol + 2 + n + 2
  }
  if ('*>~%|'.includes(type)) {
    const n = Number(head) * ('%|'.includes(type) ? 2 : 1)
    let end = eol + 2
    for (let i = 0; i < n; i++) {
      const next = frameEnd(buf, end, words)
      if (next === undefined) return undefined
      end = next
    }
    return end
  }
  words.push(head)
  return eol + 2
}

/** Calls `onFrame` with each whole RESP value from `socket`, and its strings. */
export function onFrames(socket: Socket, onFrame: (frame: Buffer, words: string[]) => void) {
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      const words: string[] = []
      const end = frameEnd(pending, 0, words)
      if (end === undefined) return
      onFrame(pending.subarray(0, end), words)
      pending = pending.subarray(end)
    }
  })
}
