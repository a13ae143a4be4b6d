import type { ChatMessage, Room } from '../shared/events'
import type { Store } from './Store'

/** Messages kept per room in memory; older ones are dropped. */
const KEPT_MESSAGES = 500

/** The one-process store: everything in memory, gone when the process stops. */
export function createMemoryStore(): Store {
  const users = new Set<string>()
  const rooms = new Map<string, Room>()
  const members = new Map<string, Set<string>>()
  const messages = new Map<string, ChatMessage[]>()
  const streams = new Map<string, number>()
  const membersOf = (roomId: string) => {
    const set = members.get(roomId) ?? new Set<string>()
    members.set(roomId, set)
    return set
  }
  return {
    async addUser(user) {
      if (users.has(user)) return false
      users.add(user)
      return true
    },
    async rooms() {
      return [...rooms.values()]
    },
    async room(id) {
      return rooms.get(id)
    },
    async createRoom(room) {
      if (rooms.has(room.id)) return false
      rooms.set(room.id, room)
      return true
    },
    async members(roomId) {
      return [...membersOf(roomId)].sort()
    },
    async addMember(roomId, user) {
      membersOf(roomId).add(user)
    },
    async removeMember(roomId, user) {
      membersOf(roomId).delete(user)
    },
    async roomsOf(user) {
      return [...members].filter(([, set]) => set.has(user)).map(([id]) => id)
    },
    async appendMessage(message) {
      const list = messages.get(message.room) ?? []
      list.push(message)
      if (list.length > KEPT_MESSAGES) list.splice(0, list.length - KEPT_MESSAGES)
      messages.set(message.room, list)
    },
    async messages(roomId, limit) {
      return (messages.get(roomId) ?? []).slice(-limit)
    },
    async countStream(user, delta) {
      const count = Math.max(0, (streams.get(user) ?? 0) + delta)
      if (count === 0) streams.delete(user)
      else streams.set(user, count)
      return count
    },
    async online() {
      return [...streams.keys()].sort()
    },
    async close() {},
  }
}
