import type { Cluster } from 'ioredis'

/** What a broken or hostile peer may leave in the record of the partition count. */
export type PartitionsRecord = string | { hash: Record<string, string> } | { list: string[] }

/**
 * Records of the servers' partition count (`keys.partitions`) that no
 * Redisse server writes: not a count, out of 1 to 16, with line breaks,
 * far too long, or a key of another type (its GET fails with WRONGTYPE).
 */
export const CORRUPT_PARTITIONS_RECORDS: ReadonlyArray<readonly [string, PartitionsRecord]> = [
  ['"abc"', 'abc'],
  ['an empty string', ''],
  ['"16.5"', '16.5'],
  ['"-1"', '-1'],
  ['"0"', '0'],
  ['"17"', '17'],
  ['"08"', '08'],
  ['"99999999999999999999"', '99999999999999999999'],
  ['a value with CR and LF', '8\r\nSET redisse:partitions 8\r\n'],
  ['10 000 characters', 'x'.repeat(10_000)],
  ['a hash', { hash: { partitions: '16' } }],
  ['a list', { list: ['16'] }],
]

/**
 * Writes `record` at `key` (without expiry, as a hand-made key would be)
 * and answers a check that the key still holds it, to prove nobody
 * overwrote what an operator must inspect.
 * @example
 * ```ts
 * const kept = await plantPartitionsRecord(reader, keys.partitions, 'abc')
 * // … start a server, see it refused …
 * expect(await kept()).toBe(true)
 * ```
 */
export async function plantPartitionsRecord(
  cluster: Cluster,
  key: string,
  record: PartitionsRecord,
): Promise<() => Promise<boolean>> {
  await cluster.del(key)
  if (typeof record === 'string') {
    await cluster.set(key, record)
    return async () => (await cluster.get(key)) === record
  }
  if ('hash' in record) {
    await cluster.hset(key, record.hash)
    return async () => JSON.stringify(await cluster.hgetall(key)) === JSON.stringify(record.hash)
  }
  await cluster.rpush(key, ...record.list)
  return async () =>
    JSON.stringify(await cluster.lrange(key, 0, -1)) === JSON.stringify(record.list)
}

/**
 * What is wrong with how a server or publisher refused a corrupt record at
 * `key`: empty when it is a `partitions-record-invalid` error whose message
 * names the key and says to delete it, in one bounded line that never
 * reads as a count ("split the log in abc partitions").
 * @example
 * ```ts
 * expect(partitionsRecordRefusalFaults(await publish().catch((e) => e), key)).toEqual([])
 * ```
 */
export function partitionsRecordRefusalFaults(err: unknown, key: string): string[] {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'partitions-record-invalid') {
    return [`not a partitions-record-invalid error: ${String(err).slice(0, 300)}`]
  }
  const { message } = err
  return [
    message.includes(key) ? '' : 'the message does not name the key',
    message.includes(`DEL ${key}`) ? '' : 'the message does not say to delete it',
    /[\r\n]/.test(message) ? 'the message has a line break' : '',
    message.length < 600 ? '' : `the message has ${message.length} characters`,
    message.includes('split the log in') ? 'the message reads the record as a count' : '',
  ].filter((fault) => fault !== '')
}
