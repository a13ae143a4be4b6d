import type { EventMap } from '@redisse/protocol'
import type { Client, ClientState, StateInfo } from './Client'
import type { CoreClientOptions, Lazy } from './ClientOptions'
import { clientError } from './clientError'
import { createBaseClient } from './createBaseClient'
import { type ElectionTiming, electLeader, type LockManagerLike } from './electLeader'
import { isAfter } from './isAfter'
import { safely } from './safely'
import type { Transport, TransportConnection, TransportHandlers } from './Transport'

/** Option `shared`: one connection per browser, shared by the tabs of an origin. */
export interface SharedOptions {
  /**
   * Tabs whose clients have the same name share one connection.
   * @defaultValue the stream URL (required when `url` is a function)
   */
  name?: string
  /** Web Locks to elect the leader; `false` forces the BroadcastChannel lease. @defaultValue navigator.locks */
  locks?: LockManagerLike | false
  /** Lease election timings, ms (tests). @defaultValue { heartbeat: 500, lease: 1500, window: 150 } */
  timing?: ElectionTiming
}

/** Options of {@link createSharedClient}. */
export interface SharedClientOptions<Events extends EventMap = EventMap>
  extends CoreClientOptions<Events> {
  /** Share one connection between the tabs: `true`, or the name and election settings. */
  shared?: boolean | SharedOptions
}

/** What the leader relays, in order, on the BroadcastChannel. */
type Relay =
  | { t: 'id'; id: string }
  | { t: 'event'; type: string; data: string; value: { value: unknown } | undefined }
  | { t: 'retry'; ms: number }
  | { t: 'listen'; type: string }
  | { t: 'lead' }
  | { t: 'state'; state: ClientState; info: StateInfo }

/** A connection of this tab: the leader's stream, or the feed of the leader's relays. */
interface SharedConnection extends TransportConnection {
  relay(message: Relay): void
  promote(): void
  demote(): void
}

/** Errors cross tabs as plain fields (structured clone drops an Error's own properties). */
const portable = (info: StateInfo): StateInfo => {
  const error = info.error as { name?: string; message?: string; code?: string; status?: number }
  return {
    ...info,
    error: error && {
      name: error.name,
      message: error.message,
      code: error.code,
      status: error.status,
    },
  }
}
const revived = (info: StateInfo): StateInfo => {
  const error = info.error as { message?: string; code?: string; status?: number } | undefined
  return {
    ...info,
    error: error && clientError(error.code as never, error.message ?? '', error.status),
  }
}

/**
 * Creates a client that shares ONE connection with the other tabs of the
 * browser (same origin, same `shared.name`, by default the same URL): the
 * tabs elect a leader (Web Locks, else a lease over BroadcastChannel) that
 * holds the stream and relays every event id, event, `retry:` and state
 * change to the others. Every tab runs its own client core on the relayed
 * events, so listeners, decoders, `meta`, `events()`, `onReset` and
 * `lastEventId` behave exactly as on a connection of its own. When the
 * leader leaves, another tab opens the stream from the last id it saw:
 * nothing lost, nothing repeated. Without BroadcastChannel, a plain client.
 * @example
 * ```ts
 * import { createSharedClient, eventSourceTransport } from '@redisse/client/core'
 * const client = createSharedClient<ChatEvents>('/events', { transport: eventSourceTransport, shared: true })
 * ```
 */
export function createSharedClient<Events extends EventMap = EventMap>(
  url: Lazy<string | URL>,
  options: SharedClientOptions<Events>,
): Client<Events> {
  const shared = options.shared === true ? {} : options.shared
  if (!shared || typeof BroadcastChannel !== 'function') return createBaseClient(url, options)
  if (shared.name === undefined && typeof url === 'function') {
    throw clientError('invalid-option', 'shared: pass shared.name when url is a function')
  }
  const name = `redisse:${shared.name ?? String(url)}`
  const channel = new BroadcastChannel(name)
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`
  let leading = false
  let closed = false
  let current: SharedConnection | undefined
  /** Types the other tabs listen to (the native EventSource needs one listener per type). */
  const remoteTypes = new Set<string>()
  /** Types this tab listens to, announced to each new leader. */
  const localTypes = new Set<string>()
  const post = (message: unknown) => {
    if (!closed) channel.postMessage(message)
  }

  const share = (transport: Transport): Transport => ({
    name: transport.name,
    available: (env) => transport.available(env),
    get seesKeepAlive() {
      return leading && transport.seesKeepAlive
    },
    open(request, handlers) {
      let lastId = request.lastEventId
      // The id just relayed was at or before this tab's position: skip its event.
      let stale = false
      let stream: TransportConnection | undefined
      let drop: (() => void) | undefined
      /** The core's handlers, relaying to the other tabs, for one stream of this tab. */
      const tee = (live: () => boolean): TransportHandlers => ({
        open: () => live() && handlers.open(),
        id(eventId) {
          if (!live()) return
          lastId = eventId
          post({ t: 'id', id: eventId } satisfies Relay)
          handlers.id(eventId)
        },
        event(type, data, value) {
          if (!live()) return
          post({ t: 'event', type, data, value } satisfies Relay)
          handlers.event(type, data, value)
        },
        retry(ms) {
          if (!live()) return
          post({ t: 'retry', ms } satisfies Relay)
          handlers.retry(ms)
        },
        activity: () => live() && handlers.activity(),
        lost: (error) => live() && handlers.lost(error),
        close: (outcome) => live() && handlers.close(outcome),
      })
      const connection: SharedConnection = {
        listen(type) {
          if (!type) return
          localTypes.add(type)
          if (stream) stream.listen?.(type)
          else post({ t: 'listen', type } satisfies Relay)
        },
        relay(message) {
          if (stream) {
            if (message.t === 'listen') stream.listen?.(message.type)
            return
          }
          if (message.t === 'id') {
            stale = !isAfter(message.id, lastId)
            if (stale) return
            lastId = message.id
            handlers.id(message.id)
          } else if (message.t === 'event') {
            if (stale) stale = false
            else handlers.event(message.type, message.data, message.value)
          } else if (message.t === 'retry') handlers.retry(message.ms)
        },
        // Same core handlers, same signal: the core never sees the hand-over.
        promote() {
          if (stream || request.signal.aborted) return
          const own = new AbortController()
          drop = () => own.abort()
          stream = transport.open(
            {
              ...request,
              lastEventId: lastId,
              signal: AbortSignal.any([request.signal, own.signal]),
            },
            tee(() => !own.signal.aborted),
          )
          for (const type of new Set([...localTypes, ...remoteTypes])) stream.listen?.(type)
        },
        // Two leaders (a busy event loop, a healed partition): the loser drops
        // its stream and follows, skipping relays of what it already has.
        demote() {
          drop?.()
          stream = undefined
          // Followers have no watchdog: this clears the one the stream armed.
          handlers.activity()
        },
      }
      current = connection
      request.signal.addEventListener('abort', () => {
        if (current === connection) current = undefined
      })
      if (leading) connection.promote()
      else handlers.open()
      return connection
    },
  })

  const inner = createBaseClient<Events>(url, {
    ...options,
    transport: ([] as Transport[]).concat(options.transport).map(share),
  })

  let state: ClientState = 'connecting'
  let info: StateInfo = { attempt: 0, delay: undefined, reason: undefined, error: undefined }
  const stateListeners = new Set<(state: ClientState, info: StateInfo) => void>()
  const setState = (next: ClientState, nextInfo: StateInfo) => {
    if (state === 'closed') return
    state = next
    info = nextInfo
    for (const listener of [...stateListeners]) safely(listener, next, nextInfo)
  }

  const election = electLeader({
    name,
    id,
    post,
    locks:
      shared.locks === false
        ? undefined
        : (shared.locks ??
          (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks),
    ...(shared.timing ? { timing: shared.timing } : {}),
    onChange(next) {
      leading = next
      if (next) {
        post({ t: 'lead' } satisfies Relay)
        current?.promote()
      } else current?.demote()
    },
  })

  // A closing tab hands over at once instead of after the lease (Web Locks
  // are released by the browser anyway).
  const onPageHide = () => client.close()
  const shutdown = (closedInfo: StateInfo) => {
    if (closed) return
    if (typeof removeEventListener === 'function') removeEventListener('pagehide', onPageHide)
    setState('closed', closedInfo)
    election.close()
    closed = true
    channel.close()
    inner.close()
  }

  // A new tab: the leader answers with its state (and `here` in a lease election).
  post({ t: 'hello', from: id })

  inner.onState((next, nextInfo) => {
    if (next === 'closed') {
      // A failure for good (401…) holds for every tab; closing this tab does not.
      if (leading && nextInfo.reason !== 'closed' && nextInfo.reason !== 'aborted') {
        post({ t: 'state', state: next, info: portable(nextInfo) } satisfies Relay)
      }
      return shutdown(nextInfo)
    }
    if (!leading) return
    post({ t: 'state', state: next, info: portable(nextInfo) } satisfies Relay)
    setState(next, nextInfo)
  })

  channel.onmessage = ({ data }: MessageEvent<Relay | { t: 'hello' }>) => {
    election.receive(data as { t?: unknown; from?: unknown })
    switch (data.t) {
      case 'hello':
        if (leading) post({ t: 'state', state, info: portable(info) } satisfies Relay)
        return
      case 'lead':
        for (const type of localTypes) post({ t: 'listen', type } satisfies Relay)
        return
      case 'listen':
        if (!leading) return
        remoteTypes.add(data.type)
        current?.relay(data)
        return
      case 'state':
        if (leading) return
        if (data.state === 'closed') shutdown(revived(data.info))
        else setState(data.state, revived(data.info))
        return
      case 'id':
      case 'event':
      case 'retry':
        if (!leading) current?.relay(data)
        return
    }
  }

  if (typeof addEventListener === 'function') addEventListener('pagehide', onPageHide)
  const client: Client<Events> = {
    get state() {
      return state
    },
    transport: inner.transport,
    get lastEventId() {
      return inner.lastEventId
    },
    on: inner.on,
    onState(listener) {
      stateListeners.add(listener)
      return () => {
        stateListeners.delete(listener)
      }
    },
    onReset: inner.onReset,
    events: inner.events,
    close: () => shutdown({ attempt: 0, delay: undefined, reason: 'closed', error: undefined }),
  }
  return client
}
