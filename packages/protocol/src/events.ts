/**
 * A map from event type to payload type, declared once in app code and
 * shared by publisher and client.
 * @example
 * ```ts
 * type ChatEvents = { message: { user: string; text: string }; typing: { user: string } }
 * ```
 */
export type EventMap = Record<string, unknown>

/**
 * Declares an {@link EventMap} as a value, for code that prefers one over a
 * plain type. Returns nothing useful at run time: only its type matters.
 * @example
 * ```ts
 * const events = defineEvents<{ message: { text: string } }>()
 * type Events = typeof events
 * ```
 */
export function defineEvents<T extends EventMap>(): T {
  return {} as T
}

/** Event types Redisse itself sends; publishers may not use the `redisse:` prefix. */
export const ReservedEvents = {
  /** History cannot cover the gap a client asked for: refetch state. Data: `{ channels: string[] }`. */
  reset: 'redisse:reset',
  /**
   * WebSocket streams only, first frame after any replay: every channel is
   * live. The SSE stream says the same with its `:ok` comment. Data: null.
   */
  ready: 'redisse:ready',
} as const

/** One of {@link ReservedEvents}. */
export type ReservedEvent = (typeof ReservedEvents)[keyof typeof ReservedEvents]

/** Payload of the `redisse:reset` event. */
export interface ResetEventData {
  channels: string[]
  /**
   * `history-gap`: events the client missed are no longer in history;
   * `epoch-changed`: the log was lost (Redis restarted without data);
   * `invalid-cursor`: the Last-Event-ID was not one this log issued.
   */
  reason: 'history-gap' | 'epoch-changed' | 'invalid-cursor'
}
