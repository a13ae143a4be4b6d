/**
 * The chat's events, declared once: the backend's publisher and the
 * browser's client are both typed with {@link ChatEvents}, so a payload that
 * does not match is a compile error on either side.
 * @module
 */

/** A room as the browser lists it. */
export interface Room {
  id: string
  name: string
  /** Private rooms are visible to their members only; their owner invites and removes. */
  private: boolean
  owner: string
}

/** One saved chat message. */
export interface ChatMessage {
  /** Assigned by the backend when the message is saved (not the Redisse event id). */
  id: string
  room: string
  user: string
  text: string
  /** Epoch ms when the backend saved it. */
  at: number
}

/** Event type → payload, shared by `createPublisher<ChatEvents>` and `createClient<ChatEvents>`. */
export type ChatEvents = {
  /** On `room:<id>`: a message was posted. */
  message: ChatMessage
  /** On `typing:<id>` (no history kept): someone is typing in the room. */
  typing: { room: string; user: string }
  /** On `lobby`: a user's first stream opened, or their last one closed. */
  presence: { user: string; online: boolean }
  /** On `lobby`: a public room was created. */
  'room-created': Room
  /** On `user:<name>`: you were added to a private room (you already hear it). */
  invited: { room: Room; by: string }
  /** On `user:<name>`: the owner removed you from a private room (you no longer hear it). */
  kicked: { room: string; by: string }
}

/** Redisse channel names of the chat, in one place for both sides. */
export const channels = {
  room: (id: string) => `room:${id}`,
  typing: (id: string) => `typing:${id}`,
  user: (name: string) => `user:${name}`,
  lobby: 'lobby',
} as const
