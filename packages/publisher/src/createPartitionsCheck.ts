import { parsePartitionsRecord, partitionsRecordReadError, RedisseError } from '@redisse/protocol'
import type { Cluster } from 'ioredis'

/** How long a publisher trusts what it read of the servers' partition count, ms. */
export const PARTITIONS_CHECK_INTERVAL = 10_000

/** The check of a cluster publisher's partition count against the servers'. */
export interface PartitionsCheck {
  /**
   * Resolves when the servers' recorded count is ours or absent (no server
   * running: the publish script still checks each partition's config);
   * reads it again once the last reading is older than
   * {@link PARTITIONS_CHECK_INTERVAL} or was forgotten.
   * @throws RedisseError `partitions-mismatch` naming the value to set
   * @throws RedisseError `partitions-record-invalid` when the record holds
   * what no server writes (not a count, or a key of another type)
   */
  check(): Promise<void>
  /** Forgets the last reading, after a failed publish: the servers may have changed. */
  forget(): void
}

/**
 * The servers record their partition count in ONE key (`keys.partitions`):
 * a partition's own config sits under a tag that depends on the count, so a
 * publisher with another count would look for it where no server wrote it,
 * and its events would go to keys and sharded channels no server reads.
 */
export function createPartitionsCheck(
  cluster: Cluster,
  key: string,
  partitions: number,
): PartitionsCheck {
  let reading: { at: number; value: Promise<number | undefined> } | undefined
  const read = async (): Promise<number | undefined> => {
    const recorded = await cluster.get(key).catch((err: unknown) => {
      throw partitionsRecordReadError(err, key)
    })
    return parsePartitionsRecord(recorded, key)
  }
  return {
    async check() {
      if (!reading || Date.now() - reading.at > PARTITIONS_CHECK_INTERVAL) {
        const value = read()
        reading = { at: Date.now(), value }
        // A failed read is not kept, nor a corrupt record: the next publish
        // reads again, so deleting the record is seen at once.
        value.catch(() => {
          if (reading?.value === value) reading = undefined
        })
      }
      const servers = await reading.value
      if (servers === undefined || servers === partitions) return
      throw new RedisseError(
        'partitions-mismatch',
        `the servers split the log in ${servers} partitions (${key}) and this publisher in ${partitions}: set the publisher option redis.partitions to ${servers}`,
      )
    },
    forget() {
      reading = undefined
    },
  }
}
