import type { Writable } from 'node:stream'

/** Runs `write` with `socket` corked: everything it writes leaves in one writev. */
export function corked<T>(socket: Writable, write: () => T): T {
  socket.cork()
  try {
    return write()
  } finally {
    socket.uncork()
  }
}
