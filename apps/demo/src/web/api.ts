import type { Me, RoomView } from '../shared/api'
import type { ChatMessage } from '../shared/events'

export type { Me, RoomView }

const SESSION_KEY = 'redisse-demo-session'

/** An error answer of the chat API. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiCallError'
  }
}

/** The stored session (shared by the tabs of one browser profile), if any. */
export function storedSession(): string | undefined {
  return localStorage.getItem(SESSION_KEY) ?? undefined
}

export function forgetSession(): void {
  localStorage.removeItem(SESSION_KEY)
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = storedSession()
  const res = await fetch(path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(session ? { Authorization: `Bearer ${session}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const answer = (await res.json().catch(() => ({}))) as {
    error?: { code: string; message: string }
  }
  if (!res.ok) {
    throw new ApiCallError(
      res.status,
      answer.error?.code ?? 'http-error',
      answer.error?.message ?? res.statusText,
    )
  }
  return answer as T
}

const room = (id: string) => `/api/rooms/${encodeURIComponent(id)}`

/** The chat's backend, one function per endpoint. */
export const api = {
  async signIn(name: string): Promise<void> {
    const { session } = await call<{ session: string }>('POST', '/api/session', { name })
    localStorage.setItem(SESSION_KEY, session)
  },
  me: () => call<Me>('GET', '/api/me'),
  createRoom: (name: string, isPrivate: boolean) =>
    call<RoomView>('POST', '/api/rooms', { name, private: isPrivate }),
  join: (id: string) => call<RoomView>('POST', `${room(id)}/join`),
  leave: (id: string) => call<unknown>('POST', `${room(id)}/leave`),
  messages: async (id: string) =>
    (await call<{ messages: ChatMessage[] }>('GET', `${room(id)}/messages`)).messages,
  send: (id: string, text: string) => call<unknown>('POST', `${room(id)}/messages`, { text }),
  typing: (id: string) => call<unknown>('POST', `${room(id)}/typing`),
  invite: (id: string, user: string) =>
    call<{ members: string[] }>('POST', `${room(id)}/members`, { user }),
  kick: (id: string, user: string) =>
    call<{ members: string[] }>('DELETE', `${room(id)}/members/${encodeURIComponent(user)}`),
}
