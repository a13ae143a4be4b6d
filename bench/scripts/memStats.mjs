// Preloaded into a server by streamHeap.ts --stats: on SIGUSR2, one line of
// its memory figures on stderr (RSS and each V8 heap space, committed and
// used), after a full GC when the server runs with --expose-gc.
import { getHeapSpaceStatistics } from 'node:v8'

process.on('SIGUSR2', () => {
  globalThis.gc?.()
  const spaces = {}
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = { size: s.space_size, used: s.space_used_size }
  }
  process.stderr.write(`MEMSTATS ${JSON.stringify({ ...process.memoryUsage(), spaces })}\n`)
})
