import type { ChatMessage, Room } from '../shared/events'

/**
 * Where the chat keeps its state. In memory for one process on the embedded
 * broker; in Redis when several demo nodes share one Redis (they must then
 * share rooms, members and messages too).
 */
export interface Store {
  /** Records that `user` signed in; true the first time. */
  addUser(user: string): Promise<boolean>
  rooms(): Promise<Room[]>
  room(id: string): Promise<Room | undefined>
  /** Saves a new room; false when the id is taken. */
  createRoom(room: Room): Promise<boolean>
  members(roomId: string): Promise<string[]>
  addMember(roomId: string, user: string): Promise<void>
  removeMember(roomId: string, user: string): Promise<void>
  /** Ids of the rooms `user` has joined. */
  roomsOf(user: string): Promise<string[]>
  appendMessage(message: ChatMessage): Promise<void>
  /** The newest `limit` messages of a room, oldest first. */
  messages(roomId: string, limit: number): Promise<ChatMessage[]>
  /** Counts a stream of `user` opening (+1) or closing (-1) on this node; returns this node's count. */
  countStream(user: string, delta: 1 | -1): Promise<number>
  /** Users with an open stream on any node, sorted. */
  online(): Promise<string[]>
  close(): Promise<void>
}
