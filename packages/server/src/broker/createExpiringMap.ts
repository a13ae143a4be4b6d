/** An entry that may expire, at epoch ms of the map's clock (undefined: never). */
export interface Expiring {
  expiresAt: number | undefined
}

/** A Map whose expired entries are never returned and are removed in amortised sweeps. */
export interface ExpiringMap<K, V extends Expiring> {
  /** The live entry of `key`; an expired one is removed instead. */
  get(key: K): V | undefined
  /** Stores an entry (as the newest: a replaced key moves to the end). */
  set(key: K, value: V): void
  delete(key: K): boolean
  /** Entries held, expired ones not swept yet included. */
  readonly size: number
  /** Removes every expired entry now. */
  sweep(): void
}

/** Options of {@link createExpiringMap}. */
export interface ExpiringMapOptions<K, V> {
  now: () => number
  /** Called for each entry removed because it expired (not for {@link ExpiringMap.delete}). */
  onExpire?: (key: K, value: V) => void
  /** Fewest writes between two sweeps. @defaultValue 1024 */
  minSweepWrites?: number
  /** Most entries held: beyond, the oldest written goes first. @defaultValue no limit */
  maxEntries?: number
}

/**
 * Builds an {@link ExpiringMap}. A full sweep runs once the writes since
 * the last one reach the number of entries it left (at least
 * `minSweepWrites`): each write pays O(1) amortised, and the map never
 * holds more than twice its live entries plus `minSweepWrites`, however
 * many expired ones were ever written. No timer: an idle map keeps its
 * last expired entries until it is written or read again.
 */
export function createExpiringMap<K, V extends Expiring>(
  options: ExpiringMapOptions<K, V>,
): ExpiringMap<K, V> {
  const { now, onExpire } = options
  const minSweepWrites = options.minSweepWrites ?? 1024
  const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY
  const entries = new Map<K, V>()
  let writes = 0
  let sweepAfter = minSweepWrites
  const expired = (value: V, at: number) => value.expiresAt !== undefined && value.expiresAt <= at
  const expire = (key: K, value: V) => {
    entries.delete(key)
    onExpire?.(key, value)
  }
  const sweep = () => {
    const at = now()
    for (const [key, value] of entries) if (expired(value, at)) expire(key, value)
    writes = 0
    sweepAfter = Math.max(minSweepWrites, entries.size)
  }
  return {
    get(key) {
      const value = entries.get(key)
      if (value === undefined || !expired(value, now())) return value
      expire(key, value)
      return undefined
    },
    set(key, value) {
      entries.delete(key)
      entries.set(key, value)
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next()
        if (oldest.done) break
        entries.delete(oldest.value)
      }
      writes += 1
      if (writes >= sweepAfter) sweep()
    },
    delete: (key) => entries.delete(key),
    get size() {
      return entries.size
    },
    sweep,
  }
}
