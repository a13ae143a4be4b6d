import { channelOfEventId, type EventMap, ReservedEvents } from '@redisse/protocol'
import { backoffDelay } from './backoffDelay'
import type { Client, ClientEvent, ClientState, EventMeta, StateInfo, StateReason } from './Client'
import type { CoreClientOptions, FreshToken, Lazy } from './ClientOptions'
import { type ClientError, clientError } from './clientError'
import { createEventDelivery } from './createEventDelivery'
import { createListenerRegistry } from './createListenerRegistry'
import { eventIterator } from './eventIterator'
import type {
  Transport,
  TransportConnection,
  TransportHandlers,
  TransportOutcome,
} from './Transport'

const evaluate = <T>(value: Lazy<T>): T | Promise<T> =>
  typeof value === 'function' ? (value as () => T | Promise<T>)() : value

// The registry key of state changes: no event has an empty type.
const STATE = ''

/**
 * Creates a client over the given transport objects (the tree-shakeable
 * entry `@redisse/client/core`): only the transports you import are bundled.
 * @example
 * ```ts
 * import { createClient, eventSourceTransport } from '@redisse/client/core'
 * const client = createClient<ChatEvents>('/events', { transport: eventSourceTransport })
 * ```
 */
export function createBaseClient<Events extends EventMap = EventMap>(
  url: Lazy<string | URL>,
  options: CoreClientOptions<Events>,
): Client<Events> {
  // The runtime's constructors, resolved once, for `available` and every `open`.
  const runtime = {
    fetch:
      options.fetch ??
      (typeof fetch === 'function'
        ? (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init)
        : undefined),
    EventSource:
      options.EventSource ?? (typeof EventSource === 'function' ? EventSource : undefined),
    // The WebSocket transport falls back to the global itself: no bytes here.
    WebSocket: options.WebSocket,
  }
  const candidates = ([] as Transport[]).concat(options.transport)
  const transport = candidates.find((t) =>
    t.available({ needsHeaders: options.headers !== undefined, ...runtime }),
  )
  if (!transport) {
    throw clientError(
      'invalid-option',
      `no usable transport in [${candidates.map((t) => t.name)}]: pass option fetch/EventSource/WebSocket, or drop headers`,
    )
  }
  const reconnect = options.reconnect === false ? undefined : (options.reconnect ?? {})
  const stallAfter = (reconnect?.stallFactor ?? 3) * (options.keepAlive ?? 15_000)
  const listeners = createListenerRegistry((type) => connection?.listen?.(type))
  const deliver = createEventDelivery(options, listeners.emit)
  let state: ClientState = 'connecting'
  let lastEventId = options.lastEventId || undefined
  let attempt = 0
  let serverRetry: number | undefined
  let freshToken: string | undefined
  let tokenJustRefreshed = false
  let controller: AbortController | undefined
  let connection: TransportConnection | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let watchdog: ReturnType<typeof setTimeout> | undefined

  const setState = (
    next: ClientState,
    reason?: StateReason,
    error?: unknown,
    delay?: number,
  ): void => {
    state = next
    listeners.emit(STATE, next, { attempt, delay, reason, error } satisfies StateInfo)
  }

  const dispatch = (type: string, text: string, value?: { value: unknown }): void => {
    const channel = lastEventId && channelOfEventId(lastEventId)
    deliver({ id: lastEventId, type, channel }, text, value)
  }

  const finish = (reason: StateReason, error?: unknown) => {
    if (state === 'closed') return
    clearTimeout(timer)
    clearTimeout(watchdog)
    controller?.abort()
    connection = undefined
    options.signal?.removeEventListener('abort', onAbort)
    if (typeof removeEventListener === 'function') {
      removeEventListener('online', onOnline)
      removeEventListener('offline', onOffline)
    }
    setState('closed', reason, error)
  }

  const retry = (reason: StateReason, error?: unknown, retryAfter?: number) => {
    if (!reconnect) return finish(reason, error)
    attempt += 1
    if (attempt > (reconnect.maxAttempts ?? Infinity)) {
      return finish('max-attempts', error)
    }
    const delay =
      retryAfter ??
      backoffDelay(attempt, serverRetry ?? reconnect.delay ?? 1000, reconnect.maxDelay ?? 30_000)
    setState('reconnecting', reason, error, delay)
    timer = setTimeout(connect, delay)
  }

  const authFailed = async (error: unknown, status: number): Promise<void> => {
    const reason = status === 401 ? 'unauthorized' : 'forbidden'
    if (options.onAuthError) {
      let token: FreshToken
      try {
        token = await options.onAuthError(error as ClientError)
      } catch (err) {
        return finish(reason, clientError(reason, `onAuthError threw: ${err}`, status, err))
      }
      if (state === 'closed') return
      if (!token) return finish(reason, error)
      freshToken = token
    } else if (typeof options.token !== 'function' || tokenJustRefreshed) {
      return finish(reason, error)
    }
    // Without the hook, a token factory is asked once more: a native
    // EventSource that reconnected by itself kept the token it was made with.
    // A fresh token is tried at once; a refused fresh token falls back to backoff.
    if (tokenJustRefreshed) return retry('token-refreshed', error)
    tokenJustRefreshed = true
    setState('reconnecting', 'token-refreshed', error, 0)
    connect()
  }

  const settle = (outcome: TransportOutcome) => {
    clearTimeout(watchdog)
    connection = undefined
    switch (outcome.kind) {
      case 'stopped':
        return finish('no-content')
      case 'invalid':
        return finish('invalid-content-type', outcome.error)
      case 'too-large':
        return finish('too-large', outcome.error)
      case 'ended':
        return retry('disconnected', outcome.error)
      case 'failed': {
        const { status } = outcome
        if (status === undefined) return retry('network-error', outcome.error)
        if (status === 401 || status === 403) {
          void authFailed(outcome.error, status)
          return
        }
        if (status >= 500 || status === 429 || status === 408) {
          return retry('http-error', outcome.error, outcome.retryAfter)
        }
        return finish('http-error', outcome.error)
      }
    }
  }

  const connect = async (): Promise<void> => {
    timer = undefined
    const current = new AbortController()
    controller = current
    const { signal } = current
    const live = () => !signal.aborted
    const kick = () => {
      clearTimeout(watchdog)
      if (transport.seesKeepAlive && stallAfter > 0 && live()) {
        watchdog = setTimeout(() => {
          current.abort()
          retry('stalled')
        }, stallAfter)
      }
    }
    let url_: string | URL
    let headers: Record<string, string> | undefined
    let token: string | undefined
    try {
      ;[url_, headers, token] = await Promise.all([
        evaluate(url),
        evaluate(options.headers),
        freshToken ?? evaluate(options.token),
      ])
    } catch (error) {
      const failure = clientError(
        'invalid-option',
        `url, token or headers threw: ${error}`,
        0,
        error,
      )
      if (live()) settle({ kind: 'failed', error: failure })
      return
    }
    if (!live()) return
    const handlers: TransportHandlers = {
      open() {
        if (!live()) return
        tokenJustRefreshed = false
        setState('open')
        kick()
      },
      id(id) {
        if (live()) lastEventId = id || undefined
      },
      event(type, data, value) {
        if (!live()) return
        attempt = 0
        dispatch(type, data, value)
      },
      retry(ms) {
        if (live()) serverRetry = ms
      },
      lost(error) {
        if (!live()) return
        // The transport reconnects by itself; the policy still bounds it.
        if (!reconnect || ++attempt > (reconnect.maxAttempts ?? Infinity)) {
          return finish(reconnect ? 'max-attempts' : 'disconnected', error)
        }
        setState('reconnecting', state === 'open' ? 'disconnected' : 'network-error', error)
      },
      activity() {
        if (live()) kick()
      },
      close(outcome) {
        if (!live()) return
        current.abort()
        settle(outcome)
      },
    }
    connection = transport.open(
      {
        url: new URL(url_, globalThis.location?.href),
        headers,
        token,
        lastEventId,
        withCredentials: !!options.withCredentials,
        signal,
        ...runtime,
      },
      handlers,
    )
    for (const type of listeners.keys()) connection.listen?.(type)
    kick()
  }

  const onAbort = () => finish('aborted')
  // Chromium keeps open streams through an emulated (or flaky) offline while
  // new requests fail: give the stream up at once, and come back on `online`.
  const onOffline = () => {
    if (state === 'closed') return
    clearTimeout(timer)
    clearTimeout(watchdog)
    controller?.abort()
    connection = undefined
    retry('offline')
  }
  const onOnline = () => {
    if (timer === undefined) return
    clearTimeout(timer)
    void connect()
  }

  const client: Client<Events> = {
    get state() {
      return state
    },
    transport: transport.name,
    get lastEventId() {
      return lastEventId
    },
    on: listeners.on as Client<Events>['on'],
    onState: (listener) => listeners.on(STATE, listener),
    onReset: (listener) => listeners.on(ReservedEvents.reset, listener),
    events: ((type: string, eventsOptions) =>
      eventIterator<ClientEvent<unknown>>((push, end) => {
        if (state === 'closed') end()
        const offEvents = listeners.on(type, (data, meta: EventMeta) => push({ ...meta, data }))
        const offState = client.onState((next) => {
          if (next === 'closed') end()
        })
        return () => {
          offEvents()
          offState()
        }
      }, eventsOptions)) as Client<Events>['events'],
    close: () => finish('closed'),
  }

  if (options.signal?.aborted) {
    state = 'closed'
    return client
  }
  options.signal?.addEventListener('abort', onAbort)
  if (typeof addEventListener === 'function') {
    addEventListener('online', onOnline)
    addEventListener('offline', onOffline)
  }
  void connect()
  return client
}
