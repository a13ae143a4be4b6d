import { parsePartitionsRecord, partitionsRecordReadError, RedisseError } from '@redisse/protocol'
import type { Cluster } from 'ioredis'

/**
 * How long the record of the partition count lives without a server to
 * refresh it, ms: once every server of one count has stopped, servers with
 * another count may start after this long.
 */
export const PARTITIONS_RECORD_TTL = 60_000

/**
 * Creates the record with our count when there is none (or refreshes it
 * when it holds ours), and answers the count it holds, in one step so two
 * servers starting together cannot both win.
 */
const RECORD_SCRIPT = `
local recorded = redis.call('GET', KEYS[1])
if not recorded or recorded == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return recorded
`

/**
 * Records the server's partition count in `key` (`keys.partitions`, one
 * key whatever the count, where publishers check theirs), or refreshes the
 * record. Two server fleets with different counts would split the traffic
 * between keys each other never reads, so a server whose count differs
 * from the recorded one is refused.
 * @throws RedisseError `invalid-option` when the record holds another count
 * @throws RedisseError `partitions-record-invalid` when it holds what no
 * server writes (not a count, or a key of another type): left as it is, for
 * the operator to inspect and delete
 */
export async function recordPartitions(
  command: Cluster,
  key: string,
  partitions: number,
): Promise<void> {
  const answer = await command
    .eval(RECORD_SCRIPT, 1, key, String(partitions), String(PARTITIONS_RECORD_TTL))
    .catch((err: unknown) => {
      throw partitionsRecordReadError(err, key)
    })
  const recorded = parsePartitionsRecord(String(answer), key)
  if (recorded === partitions) return
  throw new RedisseError(
    'invalid-option',
    `the servers already running split the log in ${recorded} partitions (${key}) and this one in ${partitions}: set redis.partitions (--redis-partitions, REDISSE_PARTITIONS) to ${recorded}, or stop every server first (the record expires ${PARTITIONS_RECORD_TTL / 1000} s after the last one stopped)`,
  )
}
