import { formatPartitionEntry, joinPartitionEntries, type PartitionCursor } from '@redisse/protocol'

/**
 * Where one stream stands in every partition it hears: the cursor each of
 * its event ids carries, so a `Last-Event-ID` resumes every partition
 * exactly, not only the one of the last event.
 *
 * Every event of the stream goes out under this cursor, so its entries are
 * kept in partition order with their text, and a move re-formats the one
 * entry that moved; the cursor itself is joined again only after a move.
 */
export class PartitionPositions {
  /** Partition order. */
  private readonly entries: PartitionCursor[] = []
  /** `formatPartitionEntry` of each entry, same order. */
  private readonly texts: string[] = []
  private text: string | undefined

  /** `from`: where a resumed stream stands (its `Last-Event-ID`'s entries). */
  constructor(from: readonly PartitionCursor[] = []) {
    for (const entry of from) this.place(entry.partition, entry.epoch, entry.seq)
  }

  /** Index of the partition's entry, or where it goes (as `-1 - index`). */
  private find(partition: number): number {
    let i = 0
    while (i < this.entries.length && (this.entries[i] as PartitionCursor).partition < partition)
      i++
    return this.entries[i]?.partition === partition ? i : -1 - i
  }

  has(partition: number): boolean {
    return this.find(partition) >= 0
  }

  get(partition: number): PartitionCursor | undefined {
    const at = this.find(partition)
    return at >= 0 ? { ...(this.entries[at] as PartitionCursor) } : undefined
  }

  /** Moves a partition forward (never back within one epoch). */
  advance(partition: number, epoch: string, seq: number): void {
    const at = this.find(partition)
    const known = this.entries[at]
    if (known && known.epoch === epoch && known.seq >= seq) return
    this.put(at, { partition, epoch, seq })
  }

  /** Puts a partition where a reset says it restarts. */
  place(partition: number, epoch: string, seq: number): void {
    this.put(this.find(partition), { partition, epoch, seq })
  }

  private put(at: number, entry: PartitionCursor): void {
    if (at >= 0) {
      this.entries[at] = entry
      this.texts[at] = formatPartitionEntry(entry)
    } else {
      this.entries.splice(-1 - at, 0, entry)
      this.texts.splice(-1 - at, 0, formatPartitionEntry(entry))
    }
    this.text = undefined
  }

  /** The cursor of the stream (partition order), under 512 bytes. */
  format(): string {
    this.text ??= joinPartitionEntries(this.texts)
    return this.text
  }
}
