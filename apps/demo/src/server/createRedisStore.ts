import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { ChatMessage, Room } from '../shared/events'
import type { Store } from './Store'

const KEPT_MESSAGES = 500
/** A node's presence hash outlives it by this much when it dies without closing. */
const PRESENCE_TTL_S = 30

/**
 * The store shared by every demo node on one Redis: rooms in a hash,
 * members in sets, messages in capped lists, and each node's open streams in
 * its own expiring hash (so a node that crashes stops counting users online
 * after {@link PRESENCE_TTL_S} seconds).
 */
export function createRedisStore(url: string, prefix = 'demo:'): Store {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 })
  const node = randomUUID()
  const key = {
    users: `${prefix}users`,
    rooms: `${prefix}rooms`,
    members: (roomId: string) => `${prefix}members:${roomId}`,
    joined: (user: string) => `${prefix}joined:${user}`,
    messages: (roomId: string) => `${prefix}messages:${roomId}`,
    streams: (id: string) => `${prefix}streams:${id}`,
  }
  const refresh = setInterval(
    () => {
      void redis.expire(key.streams(node), PRESENCE_TTL_S).catch(() => {})
    },
    (PRESENCE_TTL_S * 1000) / 3,
  )
  refresh.unref()
  return {
    async addUser(user) {
      return (await redis.sadd(key.users, user)) === 1
    },
    async rooms() {
      const all = await redis.hvals(key.rooms)
      return all.map((json) => JSON.parse(json) as Room)
    },
    async room(id) {
      const json = await redis.hget(key.rooms, id)
      return json ? (JSON.parse(json) as Room) : undefined
    },
    async createRoom(room) {
      return (await redis.hsetnx(key.rooms, room.id, JSON.stringify(room))) === 1
    },
    async members(roomId) {
      return (await redis.smembers(key.members(roomId))).sort()
    },
    async addMember(roomId, user) {
      await redis.multi().sadd(key.members(roomId), user).sadd(key.joined(user), roomId).exec()
    },
    async removeMember(roomId, user) {
      await redis.multi().srem(key.members(roomId), user).srem(key.joined(user), roomId).exec()
    },
    async roomsOf(user) {
      return redis.smembers(key.joined(user))
    },
    async appendMessage(message) {
      await redis
        .multi()
        .rpush(key.messages(message.room), JSON.stringify(message))
        .ltrim(key.messages(message.room), -KEPT_MESSAGES, -1)
        .exec()
    },
    async messages(roomId, limit) {
      const list = await redis.lrange(key.messages(roomId), -limit, -1)
      return list.map((json) => JSON.parse(json) as ChatMessage)
    },
    async countStream(user, delta) {
      const [[, count] = []] =
        (await redis
          .multi()
          .hincrby(key.streams(node), user, delta)
          .expire(key.streams(node), PRESENCE_TTL_S)
          .exec()) ?? []
      const n = Number(count ?? 0)
      if (n <= 0) await redis.hdel(key.streams(node), user)
      return Math.max(0, n)
    },
    async online() {
      const users = new Set<string>()
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', key.streams('*'), 'COUNT', 100)
        cursor = next
        for (const k of keys) for (const user of await redis.hkeys(k)) users.add(user)
      } while (cursor !== '0')
      return [...users].sort()
    },
    async close() {
      clearInterval(refresh)
      await redis.del(key.streams(node)).catch(() => {})
      redis.disconnect()
    },
  }
}
