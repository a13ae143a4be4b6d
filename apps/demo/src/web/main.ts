/**
 * The chat page: a welcome form, then rooms, messages, typing, presence and
 * unread counts, all kept live by one `@redisse/client` stream typed with the
 * same `ChatEvents` the backend publishes.
 * @module
 */
import {
  type ClientOptions,
  type ClientState,
  createClient,
  type TransportName,
} from '@redisse/client'
import type { Me, RoomView } from '../shared/api'
import type { ChatEvents, ChatMessage } from '../shared/events'
import { ApiCallError, api, forgetSession, storedSession } from './api'
import { el, fill, lockIcon } from './dom'
import './styles.css'

/** What the e2e tests read: every event the stream delivered, as it came. */
interface DemoProbe {
  events: Array<{
    id: string | undefined
    type: string
    channel: string | undefined
    data: unknown
  }>
  resets: number
  /** Times the stream went from open (or connecting) to reconnecting. */
  reconnects: number
  state: ClientState | 'signed-out'
  transport: string | undefined
}
declare global {
  interface Window {
    __demo: DemoProbe
  }
}
const probe: DemoProbe = {
  events: [],
  resets: 0,
  reconnects: 0,
  state: 'signed-out',
  transport: undefined,
}
window.__demo = probe

const TYPING_SHOWN_MS = 3500
const TYPING_SENT_EVERY_MS = 2000
const STATE_TEXT: Record<ClientState, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
}

const app = document.getElementById('app') as HTMLElement
const params = new URLSearchParams(location.search)

function showError(target: HTMLElement, err: unknown): void {
  target.textContent = err instanceof Error ? err.message : String(err)
}

// ---------- welcome ----------

function renderWelcome(): void {
  document.title = 'Redisse chat'
  const error = el('p', { class: 'form-error', role: 'alert' })
  const input = el('input', {
    id: 'name',
    name: 'name',
    autocomplete: 'nickname',
    required: true,
    maxlength: 20,
    // USER_NAME of shared/names.ts, written for the `v` flag browsers compile `pattern` with.
    pattern: '[A-Za-z0-9_\\-]{1,20}',
    placeholder: 'ann',
  })
  const form = el(
    'form',
    {
      class: 'welcome-form',
      onsubmit: (event: Event) => {
        event.preventDefault()
        api
          .signIn(input.value.trim())
          .then(start)
          .catch((err: unknown) => showError(error, err))
      },
    },
    el('label', { for: 'name' }, 'Your name'),
    input,
    el('p', { class: 'hint' }, 'Letters, digits, - or _. No password: this is a demo.'),
    el('button', { type: 'submit', class: 'primary' }, 'Join the chat'),
    error,
  )
  fill(
    app,
    el(
      'main',
      { class: 'welcome' },
      el('h1', {}, 'Redisse chat'),
      el(
        'p',
        { class: 'lead' },
        'Rooms, typing, presence and live revocation, pushed over one Server-Sent Events stream.',
      ),
      form,
    ),
  )
  input.focus()
}

// ---------- chat ----------

async function start(): Promise<void> {
  let me: Me
  try {
    me = await api.me()
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 401) {
      forgetSession()
      renderWelcome()
      return
    }
    throw err
  }
  const chat = createChat(me)
  chat.connect()
}

function createChat(me: Me) {
  const user = me.user
  let token = me.token
  const rooms = new Map<string, RoomView>(me.rooms.map((room) => [room.id, room]))
  const messages = new Map<string, Map<string, ChatMessage>>()
  const unread = new Map<string, number>()
  const online = new Set(me.online)
  online.add(user)
  const typing = new Map<string, Map<string, ReturnType<typeof setTimeout>>>()
  let active = [...rooms.values()].find((room) => room.joined)?.id ?? 'general'
  let lastTypingSent = 0

  // Layout, built once; regions are refilled as state changes.
  const status = el('span', { class: 'status', role: 'status', 'aria-label': 'Connection' })
  const roomList = el('ul', { class: 'room-list' })
  const otherRooms = el('ul', { class: 'room-list other' })
  const onlineList = el('ul', { class: 'online-list', 'aria-label': 'Online users' })
  const title = el('h2', { class: 'room-title' })
  const roomTools = el('div', { class: 'room-tools' })
  const log = el('ol', { class: 'messages', role: 'log', 'aria-live': 'polite' })
  const typingLine = el('p', { class: 'typing', 'aria-live': 'polite' })
  const notice = el('div', { class: 'notice', role: 'alert' })
  const composerInput = el('textarea', {
    id: 'composer',
    rows: 1,
    placeholder: 'Write a message…',
    maxlength: 2000,
    autocomplete: 'off',
  })
  const composer = el(
    'form',
    {
      class: 'composer',
      onsubmit: (event: Event) => {
        event.preventDefault()
        send()
      },
    },
    el('label', { for: 'composer', class: 'visually-hidden' }, 'Message'),
    composerInput,
    el('button', { type: 'submit', class: 'primary' }, 'Send'),
  )
  const newRoomName = el('input', { id: 'new-room', maxlength: 30, placeholder: 'new room' })
  const newRoomPrivate = el('input', { id: 'new-room-private', type: 'checkbox' })
  const createError = el('p', { class: 'form-error', role: 'alert' })
  const createForm = el(
    'form',
    {
      class: 'create-room',
      onsubmit: (event: Event) => {
        event.preventDefault()
        const name = newRoomName.value.trim()
        if (!name) return
        api
          .createRoom(name, newRoomPrivate.checked)
          .then((room) => {
            newRoomName.value = ''
            newRoomPrivate.checked = false
            createError.textContent = ''
            rooms.set(room.id, room)
            select(room.id)
          })
          .catch((err: unknown) => showError(createError, err))
      },
    },
    el('label', { for: 'new-room' }, 'New room name'),
    el('div', { class: 'row' }, newRoomName, el('button', { type: 'submit' }, 'Create')),
    el('label', { class: 'check' }, newRoomPrivate, ' Private'),
    createError,
  )

  fill(
    app,
    el(
      'div',
      { class: 'shell' },
      el(
        'header',
        { class: 'top' },
        el('h1', {}, 'Redisse chat'),
        status,
        el(
          'span',
          { class: 'me' },
          'Signed in as ',
          el('strong', {}, user),
          el(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                forgetSession()
                location.reload()
              },
            },
            'Sign out',
          ),
        ),
      ),
      el(
        'nav',
        { class: 'side', 'aria-label': 'Rooms' },
        el('h2', {}, 'Rooms'),
        roomList,
        el('h3', {}, 'More rooms'),
        otherRooms,
        createForm,
        el('h2', {}, 'Online'),
        onlineList,
      ),
      el(
        'main',
        { class: 'room' },
        el('div', { class: 'room-head' }, title, roomTools),
        notice,
        log,
        typingLine,
        composer,
      ),
    ),
  )

  // ---------- rendering ----------

  const renderRooms = () => {
    const joined = [...rooms.values()].filter((room) => room.joined)
    fill(
      roomList,
      ...joined.map((room) => {
        const count = unread.get(room.id) ?? 0
        return el(
          'li',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'room-button',
              'aria-current': room.id === active ? 'page' : undefined,
              'aria-label': `${room.name}${room.private ? ' (private)' : ''}${count ? `, ${count} unread` : ''}`,
              onclick: () => select(room.id),
            },
            el('span', { class: 'hash', 'aria-hidden': 'true' }, room.private ? lockIcon() : '#'),
            room.name,
            count > 0 && el('span', { class: 'badge', 'aria-hidden': 'true' }, String(count)),
          ),
        )
      }),
    )
    const others = [...rooms.values()].filter((room) => !room.joined)
    fill(
      otherRooms,
      ...(others.length === 0
        ? [el('li', { class: 'empty' }, 'You are in every room.')]
        : others.map((room) =>
            el(
              'li',
              {},
              el('span', {}, `# ${room.name}`),
              el(
                'button',
                {
                  type: 'button',
                  'aria-label': `Join ${room.name}`,
                  onclick: () => void join(room.id),
                },
                'Join',
              ),
            ),
          )),
    )
  }

  const renderOnline = () => {
    fill(
      onlineList,
      ...[...online]
        .sort()
        .map((name) =>
          el(
            'li',
            {},
            el('span', { class: 'dot', 'aria-hidden': 'true' }),
            name === user ? `${name} (you)` : name,
          ),
        ),
    )
  }

  const renderRoomHead = () => {
    const room = rooms.get(active)
    document.title = room ? `${room.private ? '' : '#'}${room.name} · Redisse chat` : 'Redisse chat'
    if (room?.private) {
      fill(title, lockIcon(), ` ${room.name} `, el('span', { class: 'tag' }, 'private'))
    } else title.textContent = room ? `# ${room.name}` : 'No room'
    log.setAttribute('aria-label', `Messages in ${room?.name ?? 'no room'}`)
    const membersOpen = roomTools.querySelector('details')?.open ?? false
    if (!room?.private) {
      fill(roomTools)
      return
    }
    const members = room.members ?? []
    const isOwner = room.owner === user
    const inviteInput = el('input', { id: 'invite', maxlength: 20, placeholder: 'name' })
    const inviteError = el('p', { class: 'form-error', role: 'alert' })
    fill(
      roomTools,
      el(
        'details',
        { class: 'members', open: membersOpen },
        el('summary', {}, `Members (${members.length})`),
        el(
          'ul',
          { 'aria-label': `Members of ${room.name}` },
          ...members.map((member) =>
            el(
              'li',
              {},
              member === room.owner ? `${member} (owner)` : member,
              isOwner &&
                member !== user &&
                el(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    'aria-label': `Remove ${member} from ${room.name}`,
                    onclick: () => {
                      api
                        .kick(room.id, member)
                        .then(({ members }) => {
                          room.members = members
                          renderRoomHead()
                        })
                        .catch((err: unknown) => showError(inviteError, err))
                    },
                  },
                  'Remove',
                ),
            ),
          ),
        ),
        isOwner &&
          el(
            'form',
            {
              class: 'invite',
              onsubmit: (event: Event) => {
                event.preventDefault()
                const name = inviteInput.value.trim()
                if (!name) return
                api
                  .invite(room.id, name)
                  .then(({ members }) => {
                    room.members = members
                    renderRoomHead()
                  })
                  .catch((err: unknown) => showError(inviteError, err))
              },
            },
            el('label', { for: 'invite' }, 'Invite someone'),
            el('div', { class: 'row' }, inviteInput, el('button', { type: 'submit' }, 'Invite')),
            inviteError,
          ),
      ),
    )
  }

  const renderMessages = () => {
    const list = [...(messages.get(active)?.values() ?? [])].sort(
      (a, b) => a.at - b.at || a.id.localeCompare(b.id),
    )
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40
    fill(
      log,
      ...(list.length === 0
        ? [el('li', { class: 'empty' }, 'No messages yet. Say hi!')]
        : list.map((message) =>
            el(
              'li',
              { class: message.user === user ? 'message mine' : 'message' },
              el('span', { class: 'author' }, message.user),
              el(
                'time',
                { datetime: new Date(message.at).toISOString() },
                new Date(message.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
              ),
              el('p', {}, message.text),
            ),
          )),
    )
    if (atBottom || list.at(-1)?.user === user) log.scrollTop = log.scrollHeight
  }

  const renderTyping = () => {
    const names = [...(typing.get(active)?.keys() ?? [])]
    typingLine.textContent =
      names.length === 0
        ? ''
        : names.length === 1
          ? `${names[0]} is typing…`
          : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`
  }

  const renderAll = () => {
    renderRooms()
    renderRoomHead()
    renderMessages()
    renderTyping()
    renderOnline()
  }

  const showNotice = (text: string) => {
    notice.textContent = text
    notice.classList.add('shown')
  }

  // ---------- actions ----------

  const mergeMessages = (roomId: string, list: readonly ChatMessage[]) => {
    const map = messages.get(roomId) ?? new Map<string, ChatMessage>()
    messages.set(roomId, map)
    for (const message of list) map.set(message.id, message)
  }

  const loadHistory = async (roomId: string) => {
    mergeMessages(roomId, await api.messages(roomId))
    if (roomId === active) renderMessages()
  }

  const select = (roomId: string) => {
    active = roomId
    unread.delete(roomId)
    notice.classList.remove('shown')
    renderAll()
    if (!messages.has(roomId)) void loadHistory(roomId).catch(() => {})
    composerInput.focus()
  }

  const join = async (roomId: string) => {
    const room = await api.join(roomId)
    rooms.set(room.id, room)
    await loadHistory(room.id)
    select(room.id)
  }

  /** Takes rooms and the online list from the backend again (after a reset, an invitation, a vanished room). */
  const resync = async () => {
    const fresh = await api.me()
    token = fresh.token
    rooms.clear()
    for (const room of fresh.rooms) rooms.set(room.id, room)
    for (const name of fresh.online) online.add(name)
    if (!rooms.get(active)?.joined) active = fresh.rooms.find((r) => r.joined)?.id ?? 'general'
    renderAll()
  }

  const send = () => {
    const text = composerInput.value.trim()
    if (!text) return
    composerInput.value = ''
    lastTypingSent = 0
    api.send(active, text).catch((err: unknown) => {
      composerInput.value = text
      showNotice(`Not sent: ${err instanceof Error ? err.message : String(err)}`)
      // The room is gone or we are no longer in it: show what the backend has.
      if (err instanceof ApiCallError && (err.status === 403 || err.status === 404)) {
        void resync().catch(() => {})
      }
    })
  }

  composerInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault()
      send()
    }
  })
  composerInput.addEventListener('input', () => {
    const now = Date.now()
    if (!composerInput.value.trim() || now - lastTypingSent < TYPING_SENT_EVERY_MS) return
    lastTypingSent = now
    void api.typing(active).catch(() => {})
  })

  const stopTyping = (roomId: string, name: string) => {
    const timers = typing.get(roomId)
    const timer = timers?.get(name)
    if (timer === undefined) return
    clearTimeout(timer)
    timers?.delete(name)
    if (roomId === active) renderTyping()
  }

  // ---------- the stream ----------

  let firstOpen = true
  const open = () => {
    const transport = (params.get('transport') ?? 'auto') as TransportName
    // `shared` (one stream per browser, shared by tabs) is passed through for
    // clients that support it; others ignore the option.
    const options: ClientOptions<ChatEvents> & { shared?: boolean } = {
      token: () => token,
      transport,
      ...(params.get('shared') === '1' ? { shared: true } : {}),
      onAuthError: async () => {
        // The token expired, or the broker forgot it (embedded broker restarted).
        const fresh = await api.me()
        token = fresh.token
        return fresh.token
      },
    }
    const client = createClient<ChatEvents>(new URL('/events', location.href).href, options)
    probe.transport = client.transport
    const record =
      (type: string) =>
      (data: unknown, meta: { id?: string | undefined; channel?: string | undefined }) => {
        probe.events.push({ id: meta.id, type, channel: meta.channel, data })
        if (probe.events.length > 5000) probe.events.splice(0, 1000)
      }

    client.on('message', (message, meta) => {
      record('message')(message, meta)
      mergeMessages(message.room, [message])
      stopTyping(message.room, message.user)
      if (message.room === active) renderMessages()
      else if (rooms.get(message.room)?.joined) {
        unread.set(message.room, (unread.get(message.room) ?? 0) + 1)
        renderRooms()
      }
    })
    client.on('typing', (data, meta) => {
      record('typing')(data, meta)
      if (data.user === user) return
      const timers = typing.get(data.room) ?? new Map<string, ReturnType<typeof setTimeout>>()
      typing.set(data.room, timers)
      clearTimeout(timers.get(data.user))
      timers.set(
        data.user,
        setTimeout(() => stopTyping(data.room, data.user), TYPING_SHOWN_MS),
      )
      if (data.room === active) renderTyping()
    })
    client.on('presence', (data, meta) => {
      record('presence')(data, meta)
      if (data.online) online.add(data.user)
      else if (data.user !== user) online.delete(data.user)
      renderOnline()
    })
    client.on('room-created', (room, meta) => {
      record('room-created')(room, meta)
      if (!rooms.has(room.id)) rooms.set(room.id, { ...room, joined: room.owner === user })
      renderRooms()
    })
    client.on('invited', (data, meta) => {
      record('invited')(data, meta)
      rooms.set(data.room.id, { ...data.room, joined: true })
      void resync().catch(() => {})
      void loadHistory(data.room.id).catch(() => {})
      showNotice(`${data.by} added you to the private room ${data.room.name}`)
      renderRooms()
    })
    client.on('kicked', (data, meta) => {
      record('kicked')(data, meta)
      const room = rooms.get(data.room)
      rooms.delete(data.room)
      messages.delete(data.room)
      unread.delete(data.room)
      if (active === data.room) active = [...rooms.values()].find((r) => r.joined)?.id ?? 'general'
      renderAll()
      showNotice(`${data.by} removed you from the private room ${room?.name ?? data.room}`)
    })
    client.onReset(({ channels }) => {
      // History could not cover the gap: the backend has every saved
      // message, so refetch the rooms concerned.
      probe.resets += 1
      for (const channel of channels) {
        if (channel.startsWith('room:')) void loadHistory(channel.slice(5)).catch(() => {})
      }
      void resync().catch(() => {})
    })
    client.onState((state) => {
      if (state === 'reconnecting' && probe.state !== 'reconnecting') probe.reconnects += 1
      probe.state = state
      probe.transport = client.transport
      status.textContent = STATE_TEXT[state]
      status.dataset.state = state
      if (state === 'open' && firstOpen) {
        firstOpen = false
        // History after the stream is live: a message saved in between is
        // in one or the other (or both: they merge by message id).
        for (const room of rooms.values())
          if (room.joined) void loadHistory(room.id).catch(() => {})
      }
    })
    status.textContent = STATE_TEXT[client.state]
    status.dataset.state = client.state
    probe.state = client.state
    return client
  }

  // Going offline and back is the client's business: it gives the stream
  // up on `offline` and resumes from the last event on `online`.
  const connect = () => {
    open()
  }

  renderAll()
  return { connect }
}

if (storedSession()) {
  start().catch((err: unknown) => {
    fill(app, el('p', { class: 'form-error', role: 'alert' }, `Cannot start: ${String(err)}`))
  })
} else {
  renderWelcome()
}
