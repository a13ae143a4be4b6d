import type { EventMap } from '@redisse/protocol'

/** Options of one publish. */
export interface PublishOptions {
  /** A retried publish with the same key appends once (kept 24 h). */
  idempotencyKey?: string
}

/** One event of a batch publish. */
export interface BatchEvent<
  Events extends EventMap,
  T extends keyof Events & string = keyof Events & string,
> {
  channel: string
  type: T
  data: Events[T]
  idempotencyKey?: string
}

/** Token and channel-list management of one subject (Sinapse's model). */
export interface Subject {
  readonly id: string
  /** Creates a token for this subject; only its SHA-256 is stored. @param options.ttl ms */
  generateToken(options?: { ttl?: number }): Promise<string>
  /** Adds a channel; open streams of the subject hear it at once. @returns true when it was new */
  addChannel(channel: string): Promise<boolean>
  /** Removes a channel; open streams stop hearing it; an empty list ends them. */
  removeChannel(channel: string): Promise<boolean>
  /** The subject's channels, sorted. */
  channels(): Promise<string[]>
  /** Destroys the subject's tokens and channel list; its streams end. */
  clear(): Promise<void>
}

/** A publisher, typed by the app's {@link EventMap}. */
export interface Publisher<Events extends EventMap = EventMap> {
  /**
   * Publishes one event.
   * @returns the event id (`epoch-seq@channel`), as clients see it
   */
  publish<T extends keyof Events & string>(
    channel: string,
    type: T,
    data: Events[T],
    options?: PublishOptions,
  ): Promise<string>
  /** Publishes several events in order; all are validated before any is sent. */
  publishMany(events: ReadonlyArray<BatchEvent<Events>>): Promise<string[]>
  /** Token and channel-list management of one subject. */
  subject(id: string): Subject
  /** Releases connections the publisher opened. */
  close(): Promise<void>
}

/** A validated event ready to send. */
export interface PreparedEvent {
  channel: string
  type: string
  data: unknown
  json: string
  idempotencyKey: string | undefined
}
