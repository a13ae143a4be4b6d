import type { Room } from './events'

/** A room as one user sees it (answers of the chat API). */
export interface RoomView extends Room {
  joined: boolean
  /** Members of a private room (its members see them). */
  members?: string[]
}

/** What `GET /api/me` answers: enough to draw the page and open the stream. */
export interface Me {
  user: string
  /** The user's Redisse token (subject = user name): the same one while it is valid and not half-spent. */
  token: string
  rooms: RoomView[]
  online: string[]
}
