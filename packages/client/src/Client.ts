import type { EventMap, ResetEventData } from '@redisse/protocol'
import type { ClientError } from './clientError'

/** Lifecycle of a client. `closed` is final. */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/**
 * Why the client is reconnecting or closed:
 * - reconnecting: `disconnected` (stream ended or broke), `network-error`,
 *   `http-error` (5xx, 429), `stalled` (watchdog), `token-refreshed`,
 *   `offline` (the browser went offline: the stream is given up, and
 *   retried at once on `online`);
 * - closed: `closed` (`close()`), `aborted` (`signal`), `no-content` (204),
 *   `unauthorized` (401), `forbidden` (403), `http-error` (other 4xx),
 *   `invalid-content-type` (a 200 that is not an event stream), `too-large`
 *   (a line or an event's data beyond the parser's bound), `max-attempts`.
 */
export type StateReason =
  | 'disconnected'
  | 'network-error'
  | 'http-error'
  | 'stalled'
  | 'token-refreshed'
  | 'offline'
  | 'closed'
  | 'aborted'
  | 'no-content'
  | 'unauthorized'
  | 'forbidden'
  | 'invalid-content-type'
  | 'too-large'
  | 'max-attempts'

/** What came with a state change. */
export interface StateInfo {
  /** Consecutive failed attempts so far (0 while healthy); the number of the attempt being scheduled when reconnecting. */
  attempt: number
  /** ms until the next attempt (state `reconnecting`). */
  delay: number | undefined
  reason: StateReason | undefined
  /** The error behind the reason: a {@link ClientError} for HTTP answers (`code`, `status`), else what the runtime threw. */
  error: unknown
}

/** Where an event came from. */
export interface EventMeta<Type extends string = string> {
  /** The event id (`epoch-seq@channel` from a Redisse server), the resume point. */
  id: string | undefined
  type: Type
  /** The channel, read from the id; `undefined` for ids that are not Redisse's. */
  channel: string | undefined
}

/** One event of {@link Client.events}: its meta and its data. */
export type ClientEvent<Data, Type extends string = string> = EventMeta<Type> & { data: Data }

/** Options of {@link Client.events}. */
export interface EventsOptions {
  /**
   * Events kept while the loop body is busy. One more ends the loop with a
   * `ClientError` of code `overflow`, thrown after the buffered events:
   * never a silent drop. @defaultValue 100
   */
  buffer?: number
}

/** A listener of one event type. */
export type Listener<Data, Type extends string = string> = (
  data: Data,
  meta: EventMeta<Type>,
) => void

/**
 * A Redisse client: one connection (at a time) to the server, typed
 * listeners per event type, reconnection with resume.
 */
export interface Client<Events extends EventMap = EventMap> {
  /** Current state. */
  readonly state: ClientState
  /** The transport in use (`eventsource`, `fetch`, `poll` or `websocket`). */
  readonly transport: string
  /** Id of the last event received: where a reconnection resumes. */
  readonly lastEventId: string | undefined
  /**
   * Listens to one event type; `data` is the JSON-decoded payload.
   * @returns a function that removes the listener
   */
  on<Type extends keyof Events & string>(
    type: Type,
    listener: Listener<Events[Type], Type>,
  ): () => void
  /** Listens to state changes. @returns a function that removes the listener */
  onState(listener: (state: ClientState, info: StateInfo) => void): () => void
  /**
   * Listens to `redisse:reset`: history could not cover a gap, refetch the
   * state of `data.channels`. @returns a function that removes the listener
   */
  onReset(listener: (data: ResetEventData, meta: EventMeta<'redisse:reset'>) => void): () => void
  /**
   * Events of one type as an async iterator, with a bounded buffer.
   * @example
   * ```ts
   * for await (const ev of client.events('message')) render(ev.data)
   * ```
   */
  events<Type extends keyof Events & string>(
    type: Type,
    options?: EventsOptions,
  ): AsyncIterableIterator<ClientEvent<Events[Type], Type>>
  /** Closes the connection for good (state `closed`, reason `closed`). */
  close(): void
}
