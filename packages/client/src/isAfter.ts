import { parseEventId } from '@redisse/protocol'

/** Partition → [epoch, seq] of a cursor over partitions (`p.epoch.seq36_…`, see the protocol README). */
function entriesOf(id: string): Map<string, [string, number]> | undefined {
  const out = new Map<string, [string, number]>()
  for (const entry of (id.split('@')[0] ?? '').split('_')) {
    const [partition = '', epoch = '', seq, extra] = entry.split('.')
    if (seq === undefined || extra !== undefined) return undefined
    out.set(partition, [epoch, Number.parseInt(seq, 36)])
  }
  return out
}

/**
 * Whether a relayed id moves a tab forward. A new leader resumes from the
 * last id it saw, and its Web Lock may be granted before the old leader's
 * last relays reach every tab (and two leaders may briefly relay the same
 * events): followers skip events at or before their position. A bare
 * cursor (the end of a poll answer) at the position is taken. On a log in
 * partitions (Redis Cluster) an id names a place in every partition the
 * stream hears: it is new when one of them moved on. Ids that are not
 * Redisse's always count as new.
 */
export function isAfter(id: string, last: string | undefined): boolean {
  if (last === undefined) return true
  const next = parseEventId(id)
  if (next) {
    const prev = parseEventId(last)?.cursor
    if (!prev || next.cursor.epoch !== prev.epoch) return true
    return next.cursor.seq > prev.seq || (next.cursor.seq === prev.seq && !next.channel)
  }
  const entries = entriesOf(id)
  const before = entriesOf(last)
  if (!entries || !before) return true
  let moved = false
  for (const [partition, [epoch, seq]] of entries) {
    const known = before.get(partition)
    if (!known || known[0] !== epoch || seq > known[1]) moved = true
  }
  return moved || (!id.includes('@') && entries.size === before.size)
}
