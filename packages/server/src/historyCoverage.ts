/** What a broker knows about one channel's history. */
export interface HistoryMeta {
  /** Seq of the channel's newest event, if any is remembered. */
  last: number | undefined
  /** Every event with seq ≥ since is held (0: all of them). */
  since: number
  /** Whether the history itself still exists (it expires). */
  exists: boolean
}

/**
 * True when history holds every event of the channel after `afterSeq`:
 * either nothing was published since, or the held window starts early
 * enough. Mirrors what the publish script maintains.
 */
export function historyCovers(meta: HistoryMeta, afterSeq: number): boolean {
  if (meta.last === undefined || meta.last <= afterSeq) return true
  return meta.exists && meta.since <= afterSeq + 1
}
