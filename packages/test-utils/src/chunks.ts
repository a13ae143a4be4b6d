/** Splits `bytes` at the given offsets (sorted, deduplicated, out-of-range ignored). */
export function chunkAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let start = 0
  for (const cut of cuts) {
    out.push(bytes.subarray(start, cut))
    start = cut
  }
  out.push(bytes.subarray(start))
  return out
}

/** Splits `bytes` into random chunks (1 byte or more each), deterministic for a seed. */
export function randomChunks(bytes: Uint8Array, seed: number): Uint8Array[] {
  let state = seed >>> 0 || 1
  const next = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x1_0000_0000
  }
  const offsets: number[] = []
  for (let i = 1; i < bytes.length; i++) if (next() < 0.3) offsets.push(i)
  return chunkAt(bytes, offsets)
}
