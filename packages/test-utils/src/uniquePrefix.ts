let counter = 0

/** A Redis key prefix no other test uses, so tests share one server without flushing it. */
export function uniquePrefix(label = 't'): string {
  counter += 1
  return `test:${label}:${process.pid}:${counter}:${Math.random().toString(36).slice(2, 8)}:`
}
