import type { RedisKeys } from '@redisse/protocol'
import type { Cluster, Redis } from 'ioredis'

/** Most token hashes checked per call: the whole set up to this size, a random sample beyond. */
const SAMPLE = 128

/**
 * Removes from a subject's token set hashes whose `token:` key is gone
 * (expired by its PX ttl, which Redis does not tell the set about). Called
 * on each generateToken and revokeToken, it checks at most {@link SAMPLE}
 * hashes (the whole set when it is that small, else a random sample), so
 * each call costs O(1) and the set stays within a small factor of the
 * subject's live tokens: every call adds at most one entry and, while more
 * than 1/128 of a large set is dead, removes more than one.
 *
 * Safe without a transaction: a gone token key never comes back (hashes
 * are of fresh random tokens), and a new token's key is written in the same
 * MULTI as its set entry. Best effort: a failure leaves the entries for a
 * later call.
 * @returns how many hashes were removed
 */
export async function pruneSubjectTokens(
  redis: Redis | Cluster,
  keys: RedisKeys,
  subject: string,
): Promise<number> {
  const setKey = keys.subjectTokens(subject)
  try {
    const size = await redis.scard(setKey)
    if (size === 0) return 0
    const hashes =
      size <= SAMPLE ? await redis.smembers(setKey) : await redis.srandmember(setKey, SAMPLE)
    let gone: string[]
    if (redis.isCluster) {
      // Token keys lie in every slot, which one pipeline cannot span.
      const exists = await Promise.all(hashes.map((hash) => redis.exists(keys.token(hash))))
      gone = hashes.filter((_, i) => exists[i] === 0)
    } else {
      const pipeline = redis.pipeline()
      for (const hash of hashes) pipeline.exists(keys.token(hash))
      const replies = (await pipeline.exec()) ?? []
      gone = hashes.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0)
    }
    return gone.length > 0 ? await redis.srem(setKey, ...gone) : 0
  } catch {
    return 0
  }
}
