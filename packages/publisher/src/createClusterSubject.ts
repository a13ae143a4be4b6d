import {
  formatControl,
  hashToken,
  newToken,
  type RedisKeys,
  validateChannel,
  validateSubject,
  validateToken,
} from '@redisse/protocol'
import type { Cluster } from 'ioredis'
import { checkTokenTtl } from './checkTokenTtl'
import type { RedisGate } from './createRedisGate'
import { execAll } from './execAll'
import { pruneSubjectTokens } from './pruneSubjectTokens'
import type { Subject } from './Subject'

/**
 * Grants a channel at a log position read beforehand, in the subject's
 * slot: KEYS subject channels, subject grants; ARGV the channel, the
 * position `<epoch>-<seq>`, the control channel and its message. A channel
 * already granted keeps its first grant.
 */
const GRANT_CHANNEL_SCRIPT = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return added
`

/**
 * A subject over Redis Cluster. Its three keys share the hash tag of the
 * subject (`createKeys(prefix, { cluster: true })`), so each edit of its
 * channel list is still one transaction or script with its control message
 * (plain PUBLISH, which the cluster broadcasts). What a single Redis does in
 * one step across slots takes two here, in an order that fails safe:
 * - a token's key is written before its hash joins the subject's set, so a
 *   token the caller receives is always listed (a failure in between leaves
 *   an unlisted key for a token nobody was given);
 * - a revocation or a clear deletes token keys (what servers check) before
 *   editing the set and announcing it; a retry finds the hash still listed
 *   and announces again.
 */
export function createClusterSubject(
  rawId: string,
  context: {
    cluster: Cluster
    /** Cluster key names: subject keys tagged, token keys as on a single Redis. */
    keys: RedisKeys
    /** The keys of a channel's partition (its epoch and seq). */
    keysOf: (channel: string) => RedisKeys
    gate: RedisGate
  },
): Subject {
  const { cluster, keys, keysOf, gate } = context
  const id = validateSubject(rawId)

  const addChannel = async (rawChannel: string): Promise<boolean> => {
    const channel = validateChannel(rawChannel)
    const control = formatControl({ v: 1, op: 'add', subject: id, channel })
    const partition = keysOf(channel)
    const added = await gate.run('change', async () => {
      // The position is read first, in the partition's slot, and written
      // after, in the subject's: an event published between the two has a
      // seq above the recorded one, so a resume may replay it and never
      // skips it (the grant is a floor, and a lower floor hides nothing the
      // subject was given).
      const [epoch, seq] = await cluster.mget(partition.epoch, partition.seq)
      return cluster.eval(
        GRANT_CHANNEL_SCRIPT,
        2,
        keys.subjectChannels(id),
        keys.subjectGranted(id),
        channel,
        `${epoch ?? ''}-${seq ?? '0'}`,
        keys.control,
        control,
      )
    })
    return added === 1
  }

  const removeChannel = async (rawChannel: string): Promise<boolean> => {
    const channel = validateChannel(rawChannel)
    const control = formatControl({ v: 1, op: 'remove', subject: id, channel })
    const [changed] = await gate.run('change', () => {
      const tx = cluster.multi()
      tx.srem(keys.subjectChannels(id), channel)
      tx.hdel(keys.subjectGranted(id), channel)
      tx.publish(keys.control, control)
      return execAll(tx)
    })
    return changed === 1
  }

  return {
    id,
    async generateToken(options = {}) {
      const ttl = checkTokenTtl(options)
      const token = newToken()
      const hash = await hashToken(token)
      await gate.run('change', async () => {
        if (ttl === undefined) await cluster.set(keys.token(hash), id)
        else await cluster.set(keys.token(hash), id, 'PX', ttl)
        await cluster.sadd(keys.subjectTokens(id), hash)
        await pruneSubjectTokens(cluster, keys, id)
      })
      return token
    },
    async revokeToken(rawToken) {
      const hash = await hashToken(validateToken(rawToken))
      return gate.run('change', async () => {
        // Only a token of this subject is revoked: the subject id is the
        // key's value, and the hash cannot be guessed from another subject.
        const owner = await cluster.get(keys.token(hash))
        let deleted = 0
        if (owner === id) deleted = await cluster.del(keys.token(hash))
        // Listed but gone: expired, or deleted by an attempt that failed
        // before its announcement; announcing (again) is harmless.
        else if (!(await cluster.sismember(keys.subjectTokens(id), hash))) return false
        const tx = cluster.multi()
        tx.srem(keys.subjectTokens(id), hash)
        tx.publish(
          keys.control,
          formatControl({ v: 1, op: 'revoke', subject: id, tokenHash: hash }),
        )
        await execAll(tx)
        await pruneSubjectTokens(cluster, keys, id)
        return deleted === 1
      })
    },
    addChannel,
    removeChannel,
    async channels() {
      const channels = await gate.run('read', () => cluster.smembers(keys.subjectChannels(id)))
      return channels.sort()
    },
    async clear() {
      await gate.run('change', async () => {
        const hashes = await cluster.smembers(keys.subjectTokens(id))
        // Token keys are spread over the slots: one DEL each, before the
        // set loses their hashes, so none is ever left unlisted.
        await Promise.all(hashes.map((hash) => cluster.del(keys.token(hash))))
        const tx = cluster.multi()
        // SREM rather than DEL: a token created meanwhile keeps its entry.
        if (hashes.length > 0) tx.srem(keys.subjectTokens(id), ...hashes)
        tx.del(keys.subjectChannels(id))
        tx.del(keys.subjectGranted(id))
        tx.publish(keys.control, formatControl({ v: 1, op: 'clear', subject: id }))
        return execAll(tx)
      })
    },
  }
}
