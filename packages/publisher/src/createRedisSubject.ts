import {
  formatControl,
  hashToken,
  newToken,
  type RedisKeys,
  validateChannel,
  validateSubject,
  validateToken,
} from '@redisse/protocol'
import type { Redis } from 'ioredis'
import { checkTokenTtl } from './checkTokenTtl'
import type { RedisGate } from './createRedisGate'
import { execAll } from './execAll'
import { pruneSubjectTokens } from './pruneSubjectTokens'
import type { Subject } from './Subject'

/**
 * Grants a channel and records the log position of the grant, in one step:
 * KEYS subject channels, subject grants, epoch, seq; ARGV the channel, the
 * control channel and its message. A channel already granted keeps its
 * first grant.
 */
const ADD_CHANNEL_SCRIPT = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  local epoch = redis.call('GET', KEYS[3]) or ''
  local seq = redis.call('GET', KEYS[4]) or '0'
  redis.call('HSET', KEYS[2], ARGV[1], epoch .. '-' .. seq)
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return added
`

/**
 * A subject over Redis, with protocol's key layout: `token:<sha256>` →
 * subject id, two sets per subject (token hashes, channels) and the hash of
 * when each channel was granted. Each edit of the channel list is one
 * transaction with its control message, so servers never hear of a change
 * that did not happen.
 */
export function createRedisSubject(
  rawId: string,
  context: { redis: Redis; keys: RedisKeys; gate: RedisGate },
): Subject {
  const { redis, keys, gate } = context
  const id = validateSubject(rawId)
  const edit = async (op: 'add' | 'remove', rawChannel: string): Promise<boolean> => {
    const channel = validateChannel(rawChannel)
    const control = formatControl({ v: 1, op, subject: id, channel })
    if (op === 'add') {
      const added = await gate.run('change', () =>
        redis.eval(
          ADD_CHANNEL_SCRIPT,
          4,
          keys.subjectChannels(id),
          keys.subjectGranted(id),
          keys.epoch,
          keys.seq,
          channel,
          keys.control,
          control,
        ),
      )
      return added === 1
    }
    const [changed] = await gate.run('change', () => {
      const tx = redis.multi()
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
        const tx = redis.multi()
        if (ttl === undefined) tx.set(keys.token(hash), id)
        else tx.set(keys.token(hash), id, 'PX', ttl)
        tx.sadd(keys.subjectTokens(id), hash)
        await execAll(tx)
        await pruneSubjectTokens(redis, keys, id)
      })
      return token
    },
    async revokeToken(rawToken) {
      const hash = await hashToken(validateToken(rawToken))
      const revoked = await gate.run('change', async () => {
        // Only a token of this subject is revoked: the subject id is the
        // key's value, and the hash cannot be guessed from another subject.
        if ((await redis.get(keys.token(hash))) !== id) return false
        const tx = redis.multi()
        tx.del(keys.token(hash))
        tx.srem(keys.subjectTokens(id), hash)
        tx.publish(
          keys.control,
          formatControl({ v: 1, op: 'revoke', subject: id, tokenHash: hash }),
        )
        const [deleted] = await execAll(tx)
        await pruneSubjectTokens(redis, keys, id)
        return deleted === 1
      })
      return revoked
    },
    addChannel: (channel) => edit('add', channel),
    removeChannel: (channel) => edit('remove', channel),
    async channels() {
      const channels = await gate.run('read', () => redis.smembers(keys.subjectChannels(id)))
      return channels.sort()
    },
    async clear() {
      await gate.run('change', async () => {
        const hashes = await redis.smembers(keys.subjectTokens(id))
        const tx = redis.multi()
        if (hashes.length > 0) {
          tx.del(...hashes.map((hash) => keys.token(hash)))
          // SREM rather than DEL: a token created meanwhile keeps its entry,
          // so no token key is ever left without one.
          tx.srem(keys.subjectTokens(id), ...hashes)
        }
        tx.del(keys.subjectChannels(id))
        tx.del(keys.subjectGranted(id))
        tx.publish(keys.control, formatControl({ v: 1, op: 'clear', subject: id }))
        return execAll(tx)
      })
    },
  }
}
