import type { Socket } from 'node:net'

const corked: Socket[] = []
let scheduled = false

function uncorkAll(): void {
  scheduled = false
  // Every socket corked during the tick goes out as one writev each.
  for (const socket of corked.splice(0)) socket.uncork()
}

/**
 * Corks `socket` until the end of the current tick (unless it already is),
 * so every frame due to it in this tick (all the events of one bus read, a
 * replay) leaves in one `writev` instead of one syscall per frame.
 */
export function coalesceWrites(socket: Socket): void {
  if (socket.writableCorked > 0) return
  socket.cork()
  corked.push(socket)
  if (scheduled) return
  scheduled = true
  process.nextTick(uncorkAll)
}
