import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Publisher } from '@redisse/publisher'
import type { Me, RoomView } from '../shared/api'
import { type ChatEvents, type ChatMessage, channels, type Room } from '../shared/events'
import { MAX_MESSAGE_LENGTH, ROOM_ID, roomIdOf, USER_NAME } from '../shared/names'
import { createTokenCache } from './createTokenCache'
import { ApiError, readJson, sendJson } from './httpJson'
import type { Store } from './Store'
import type { Sessions } from './session'

const HISTORY_LIMIT = 200

/** A path parameter, decoded; a malformed %-encoding is the client's error. */
function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new ApiError(400, 'invalid-request', `malformed %-encoding in ${raw.slice(0, 60)}`)
  }
}
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000

/** Rooms every user starts in. */
export const DEFAULT_ROOMS: readonly Room[] = [
  { id: 'general', name: 'general', private: false, owner: 'redisse' },
  { id: 'random', name: 'random', private: false, owner: 'redisse' },
]

export interface ChatApiOptions {
  store: Store
  sessions: Sessions
  /** The publisher, once the server is listening. */
  publisher: () => Publisher<ChatEvents>
  /** Whether the broker still accepts `token` as `user`'s (a token is reused while it is). */
  isTokenValid: (token: string, user: string) => Promise<boolean>
  /** Lifetime of the Redisse tokens handed out, ms. @defaultValue 1 day */
  tokenTtl?: number
}

/**
 * The chat's JSON API under `/api`: sessions, rooms, messages, typing,
 * invitations and removals. Every change is saved in the store first, then
 * published to the room's channel; access changes go through the user's
 * Redisse subject, which open streams apply at once.
 */
export function createChatApi({
  store,
  sessions,
  publisher,
  isTokenValid,
  tokenTtl = TOKEN_TTL_MS,
}: ChatApiOptions) {
  const tokens = createTokenCache({
    issue: (user, ttl) => publisher().subject(user).generateToken({ ttl }),
    isValid: isTokenValid,
    ttl: tokenTtl,
  })
  const grantRoom = async (user: string, roomId: string) => {
    const subject = publisher().subject(user)
    await subject.addChannel(channels.room(roomId))
    await subject.addChannel(channels.typing(roomId))
  }
  const revokeRoom = async (user: string, roomId: string) => {
    const subject = publisher().subject(user)
    await subject.removeChannel(channels.room(roomId))
    await subject.removeChannel(channels.typing(roomId))
  }

  const view = async (room: Room, joined: Set<string>): Promise<RoomView> => ({
    ...room,
    joined: joined.has(room.id),
    ...(room.private ? { members: await store.members(room.id) } : {}),
  })

  const visibleRooms = async (user: string): Promise<RoomView[]> => {
    const joined = new Set(await store.roomsOf(user))
    const rooms = (await store.rooms()).filter((room) => !room.private || joined.has(room.id))
    rooms.sort((a, b) => a.name.localeCompare(b.name))
    return Promise.all(rooms.map((room) => view(room, joined)))
  }

  const roomFor = async (id: string, user: string, { member = true } = {}) => {
    const room = ROOM_ID.test(id) ? await store.room(id) : undefined
    const isMember = room ? (await store.members(id)).includes(user) : false
    if (!room || (room.private && !isMember)) {
      throw new ApiError(404, 'no-such-room', `no room ${id}`)
    }
    if (member && !isMember) throw new ApiError(403, 'not-a-member', `join ${id} first`)
    return room
  }

  const me = async (user: string): Promise<Me> => {
    const subject = publisher().subject(user)
    // Idempotent, and restores them if Redis lost its data.
    for (const room of DEFAULT_ROOMS) await store.createRoom(room)
    // A user invited to a private room before signing in still starts in the default rooms.
    if (await store.addUser(user)) {
      for (const room of DEFAULT_ROOMS) await store.addMember(room.id, user)
    }
    await subject.addChannel(channels.lobby)
    await subject.addChannel(channels.user(user))
    for (const roomId of await store.roomsOf(user)) await grantRoom(user, roomId)
    const [token, rooms, online] = await Promise.all([
      tokens.tokenOf(user),
      visibleRooms(user),
      store.online(),
    ])
    return { user, token, rooms, online }
  }

  const routes: Array<{
    method: string
    path: RegExp
    run: (user: string, params: string[], req: IncomingMessage) => Promise<unknown>
  }> = [
    { method: 'GET', path: /^\/api\/me$/, run: (user) => me(user) },
    {
      method: 'POST',
      path: /^\/api\/rooms$/,
      async run(user, _, req) {
        const body = await readJson(req)
        const name = typeof body.name === 'string' ? body.name.trim() : ''
        const id = roomIdOf(name)
        if (!ROOM_ID.test(id)) throw new ApiError(400, 'invalid-room', 'name the room')
        const room: Room = {
          id,
          name: name.slice(0, 30),
          private: body.private === true,
          owner: user,
        }
        if (!(await store.createRoom(room))) {
          throw new ApiError(409, 'room-exists', `a room called ${id} exists`)
        }
        await store.addMember(id, user)
        await grantRoom(user, id)
        if (!room.private) await publisher().publish(channels.lobby, 'room-created', room)
        return view(room, new Set([id]))
      },
    },
    {
      method: 'POST',
      path: /^\/api\/rooms\/([^/]+)\/join$/,
      async run(user, [id = '']) {
        const room = await roomFor(id, user, { member: false })
        await store.addMember(id, user)
        await grantRoom(user, id)
        return view(room, new Set([id]))
      },
    },
    {
      method: 'POST',
      path: /^\/api\/rooms\/([^/]+)\/leave$/,
      async run(user, [id = '']) {
        await roomFor(id, user)
        await store.removeMember(id, user)
        await revokeRoom(user, id)
        return { left: id }
      },
    },
    {
      method: 'GET',
      path: /^\/api\/rooms\/([^/]+)\/messages$/,
      async run(user, [id = '']) {
        const room = await roomFor(id, user, { member: false })
        return { messages: await store.messages(room.id, HISTORY_LIMIT) }
      },
    },
    {
      method: 'POST',
      path: /^\/api\/rooms\/([^/]+)\/messages$/,
      async run(user, [id = ''], req) {
        const room = await roomFor(id, user)
        const body = await readJson(req)
        const text = typeof body.text === 'string' ? body.text.trim() : ''
        if (!text || text.length > MAX_MESSAGE_LENGTH) {
          throw new ApiError(400, 'invalid-message', `1 to ${MAX_MESSAGE_LENGTH} characters`)
        }
        const message: ChatMessage = { id: randomUUID(), room: room.id, user, text, at: Date.now() }
        await store.appendMessage(message)
        // The message is saved before it is announced: a client that misses
        // the event (reset) finds it when it refetches the room's history.
        await publisher().publish(channels.room(room.id), 'message', message, {
          idempotencyKey: `message-${message.id}`,
        })
        return { message }
      },
    },
    {
      method: 'POST',
      path: /^\/api\/rooms\/([^/]+)\/typing$/,
      async run(user, [id = '']) {
        const room = await roomFor(id, user)
        await publisher().publish(channels.typing(room.id), 'typing', { room: room.id, user })
        return { ok: true }
      },
    },
    {
      method: 'POST',
      path: /^\/api\/rooms\/([^/]+)\/members$/,
      async run(user, [id = ''], req) {
        const room = await ownedPrivateRoom(id, user)
        const body = await readJson(req)
        const invited = typeof body.user === 'string' ? body.user.trim() : ''
        if (!USER_NAME.test(invited)) throw new ApiError(400, 'invalid-user', 'no such user name')
        await store.addMember(id, invited)
        await grantRoom(invited, id)
        await publisher().publish(channels.user(invited), 'invited', {
          room: { ...room },
          by: user,
        })
        return { members: await store.members(id) }
      },
    },
    {
      method: 'DELETE',
      path: /^\/api\/rooms\/([^/]+)\/members\/([^/]+)$/,
      async run(user, [id = '', kicked = '']) {
        // Checked before anything changes: a name that is no subject would
        // fail half-way, after the store already dropped the member.
        if (!USER_NAME.test(kicked)) throw new ApiError(400, 'invalid-user', 'no such user name')
        await ownedPrivateRoom(id, user)
        if (kicked === user) throw new ApiError(400, 'invalid-user', 'owners leave instead')
        await store.removeMember(id, kicked)
        // Revoking the channels is what stops the kicked user's open streams
        // from hearing the room, on every node, without a reconnect.
        await revokeRoom(kicked, id)
        await publisher().publish(channels.user(kicked), 'kicked', { room: id, by: user })
        return { members: await store.members(id) }
      },
    },
  ]

  const ownedPrivateRoom = async (id: string, user: string) => {
    const room = await roomFor(id, user)
    if (!room.private || room.owner !== user) {
      throw new ApiError(403, 'not-the-owner', `only the owner of a private room manages members`)
    }
    return room
  }

  /** Answers `/api/…` requests; false for other paths. */
  return async function handleApi(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (!path.startsWith('/api/')) return false
    try {
      if (req.method === 'POST' && path === '/api/session') {
        const body = await readJson(req)
        const name = typeof body.name === 'string' ? body.name.trim() : ''
        if (!USER_NAME.test(name)) {
          throw new ApiError(400, 'invalid-user', 'names are 1–20 letters, digits, - or _')
        }
        sendJson(res, 200, { user: name, session: sessions.issue(name) })
        return true
      }
      const route = routes.find((r) => r.method === req.method && r.path.test(path))
      if (!route) throw new ApiError(404, 'not-found', `no such endpoint: ${req.method} ${path}`)
      const auth = req.headers.authorization
      const user = sessions.verify(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)
      if (!user) throw new ApiError(401, 'unauthorized', 'sign in again')
      const params = (route.path.exec(path) ?? []).slice(1).map(decodeParam)
      sendJson(res, 200, await route.run(user, params, req))
    } catch (err) {
      if (err instanceof ApiError) {
        sendJson(res, err.status, { error: { code: err.code, message: err.message } })
      } else {
        console.error('api error', path, err)
        sendJson(res, 500, { error: { code: 'internal', message: 'something broke' } })
      }
    }
    return true
  }
}
