import { type Cursor, EPOCH_PATTERN } from './cursor'
import { RedisseError } from './errors'
import { isValidChannel } from './names'

/**
 * Most partitions a log may be split in: a stream's cursor holds one entry
 * per partition it hears, and 16 entries stay under 512 bytes whatever the
 * sequences (see {@link formatPartitionedCursor}).
 */
export const MAX_PARTITIONS = 16

/** Partitions of a Redis Cluster log when the option leaves it out. */
export const DEFAULT_CLUSTER_PARTITIONS = 16

/** Number of hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16384

/**
 * The partition of a channel: FNV-1a (32-bit) of its name, modulo the
 * partition count. Channel names are ASCII (see `CHANNEL_PATTERN`), so the
 * hash runs over their bytes in any language.
 * @example
 * ```ts
 * partitionOf('room:42', 16) // 10
 * ```
 */
export function partitionOf(channel: string, partitions: number): number {
  if (partitions <= 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < channel.length; i++) {
    hash ^= channel.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % partitions
}

/** CRC16/XMODEM, the hash Redis Cluster maps keys to slots with. */
function crc16(text: string): number {
  let crc = 0
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) << 8
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    }
  }
  return crc
}

/** The cluster slot of a key (its hash tag when it has one), as `CLUSTER KEYSLOT` gives it. */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % CLUSTER_SLOTS
  }
  return crc16(key) % CLUSTER_SLOTS
}

const tags = new Map<string, string>()

/**
 * The hash tag of a partition: `p<partition>.<k>` with the smallest `k`
 * whose slot falls in the partition's share of the slots
 * (`[partition, partition + 1) × 16384 / partitions`). A cluster that splits
 * its slots in even ranges (what `redis-cli --cluster create` does) then
 * holds the same number of partitions on each master, give or take one.
 */
export function partitionTag(partition: number, partitions: number): string {
  const memo = `${partition}/${partitions}`
  const known = tags.get(memo)
  if (known !== undefined) return known
  const low = Math.floor((partition * CLUSTER_SLOTS) / partitions)
  const high = Math.floor(((partition + 1) * CLUSTER_SLOTS) / partitions)
  for (let k = 0; ; k++) {
    const tag = `p${partition}.${k}`
    const slot = crc16(tag) % CLUSTER_SLOTS
    if (slot >= low && slot < high) {
      tags.set(memo, tag)
      return tag
    }
  }
}

/**
 * The key prefix of one partition: `prefix` itself when the log has one
 * partition (single Redis, the embedded broker: key names as they always
 * were), else `prefix{tag}:`, so every key and sharded pub/sub channel of
 * the partition shares one cluster slot.
 * @example
 * ```ts
 * partitionPrefix('redisse:', 0, 1)  // 'redisse:'
 * partitionPrefix('redisse:', 3, 16) // 'redisse:{p3.0}:'
 * ```
 */
export function partitionPrefix(prefix: string, partition: number, partitions: number): string {
  if (partitions <= 1) return prefix
  return `${prefix}{${partitionTag(partition, partitions)}}:`
}

/**
 * Throws `invalid-option` unless `partitions` is an integer from 1 to
 * {@link MAX_PARTITIONS}.
 */
export function validatePartitions(partitions: unknown, option = 'partitions'): number {
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS
  ) {
    throw new RedisseError(
      'invalid-option',
      `${option} must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(partitions)}`,
    )
  }
  return partitions
}

/** A position in one partition's log; `epoch` is `''` while the partition's log is empty. */
export interface PartitionCursor extends Cursor {
  partition: number
}

const ENTRY = /^([0-9a-f])\.([0-9a-z]{0,16})\.([0-9a-z]{1,11})$/
const MAX_SEQ = Number.MAX_SAFE_INTEGER

/**
 * The cursor of a stream over several partitions: one entry
 * `<partition hex>.<epoch>.<seq base 36>` per partition, in partition
 * order, joined by `_`. At most 16 entries of at most 1 + 1 + 16 + 1 + 11
 * characters: under 512 bytes. A cursor of partition 0 alone in a log of
 * one partition is the classic `epoch-seq` (use {@link formatCursor}).
 * @example
 * ```ts
 * formatPartitionedCursor([{ partition: 0, epoch: 'k3x9a2bq', seq: 42 }, { partition: 11, epoch: 'a8s7d6f5', seq: 7 }])
 * // '0.k3x9a2bq.16_b.a8s7d6f5.7'
 * ```
 */
export function formatPartitionedCursor(positions: readonly PartitionCursor[]): string {
  return joinPartitionEntries(
    [...positions].sort((a, b) => a.partition - b.partition).map(formatPartitionEntry),
  )
}

/**
 * One entry of a partitioned cursor, `<partition hex>.<epoch>.<seq base 36>`,
 * for a reader that keeps a cursor's entries and re-formats only the one
 * that moved (see {@link joinPartitionEntries}).
 */
export function formatPartitionEntry(position: PartitionCursor): string {
  return `${position.partition.toString(16)}.${position.epoch}.${position.seq.toString(36)}`
}

/**
 * The cursor of entries from {@link formatPartitionEntry}, given in
 * partition order: the same text as {@link formatPartitionedCursor}.
 */
export function joinPartitionEntries(entries: readonly string[]): string {
  return entries.join('_')
}

/**
 * Reads a cursor written by {@link formatPartitionedCursor} (an event id's
 * `@channel` tail, if any, is ignored); `undefined` when it is not one.
 */
export function parsePartitionedCursor(value: string): PartitionCursor[] | undefined {
  const at = value.indexOf('@')
  const text = at >= 0 ? value.slice(0, at) : value
  if (text.length === 0 || text.length > 512) return undefined
  const out: PartitionCursor[] = []
  for (const entry of text.split('_')) {
    const match = ENTRY.exec(entry)
    if (!match) return undefined
    const [, partition = '', epoch = '', seq = ''] = match
    const position = {
      partition: Number.parseInt(partition, 16),
      epoch,
      seq: Number.parseInt(seq, 36),
    }
    if (position.seq > MAX_SEQ || (epoch !== '' && !EPOCH_PATTERN.test(epoch))) return undefined
    const previous = out[out.length - 1]
    if (previous && previous.partition >= position.partition) return undefined
    out.push(position)
  }
  if (at >= 0 && !isValidChannel(value.slice(at + 1))) return undefined
  return out
}

/**
 * The channel an event id names after its `@`, for both cursor forms;
 * `undefined` for a bare cursor or an id that is not Redisse's.
 */
export function channelOfEventId(id: string): string | undefined {
  const at = id.indexOf('@')
  if (at < 0) return undefined
  const channel = id.slice(at + 1)
  return isValidChannel(channel) ? channel : undefined
}
