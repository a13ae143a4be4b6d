import type { Envelope, HistoryRule } from '@redisse/protocol'

/** What one publish asks of a broker; names and payload are already validated. */
export interface PublishRequest {
  channel: string
  type: string
  /** Payload value, JSON-serialisable and already size-checked. */
  data: unknown
  idempotencyKey?: string | undefined
}

/** Who a token belongs to and what that subject may hear now. */
export interface TokenGrant {
  subject: string
  channels: string[]
}

/** A live edit of a subject's channel list, as every node receives it. */
export type SubjectEdit =
  | { op: 'add' | 'remove'; subject: string; channel: string }
  | { op: 'clear'; subject: string }

/** Events of one channel after a cursor, and whether that is all of them. */
export interface ChannelHistory {
  /** False when some events after the cursor are no longer held (trimmed or expired). */
  covered: boolean
  /** Held events after the cursor, oldest first. */
  envelopes: Envelope[]
}

/** The newest position of the log. */
export interface LogHead {
  /** Undefined when the log is empty (nothing ever published, or Redis lost its data). */
  epoch: string | undefined
  seq: number
}

/** Connection state of a broker, as `/healthz` and `/stats` report it. */
export type BrokerState = 'connecting' | 'ready' | 'reconnecting' | 'closed'

/**
 * What the server needs from its bus: publish, subscribe, read history and
 * keep tokens. The Redis broker and the embedded in-process broker implement
 * the same interface so the same tests run on both.
 */
export interface Broker {
  readonly kind: 'redis' | 'embedded'
  readonly state: BrokerState
  /** Resolves once the broker can serve. */
  ready(): Promise<void>
  /** Appends an event to the channel's log and fans it out; resolves to its event id. */
  publish(request: PublishRequest): Promise<string>
  /** Starts receiving envelopes of `channel` (the server reference-counts calls). */
  subscribe(channel: string): Promise<void>
  /** Stops receiving envelopes of `channel`. */
  unsubscribe(channel: string): Promise<void>
  /** The log's epoch and newest sequence. */
  head(): Promise<LogHead>
  /**
   * Held events of each channel with seq > `afterSeq` (same epoch), read at
   * ONE instant for all of them (a MULTI on Redis): replay merges this with
   * live events, which is only exact if no publish falls between the reads
   * of two channels.
   */
  histories(channels: readonly string[], afterSeq: number): Promise<ChannelHistory[]>
  /**
   * Whether the log still holds `envelope`, as received from the bus: false
   * when it does not (a failover to a replica that lagged lost it),
   * undefined when history cannot tell (disabled, trimmed or expired).
   * Absent on brokers whose log cannot go backwards (embedded).
   */
  holds?(envelope: Envelope): Promise<boolean | undefined>
  /**
   * Replaces epoch `from` by `to` (the log went backwards) unless another
   * node did already; resolves to the head in force afterwards. Absent on
   * brokers whose log cannot go backwards.
   */
  replaceEpoch?(from: string, to: string): Promise<LogHead>
  /** Registers the single receiver of every envelope of subscribed channels. */
  onEnvelope(listener: (envelope: Envelope) => void): void
  /** Registers the receiver of subject edits (token mode). */
  onSubjectEdit(listener: (edit: SubjectEdit) => void): void
  /** Registers the receiver of state changes. */
  onState(listener: (state: BrokerState) => void): void
  /** The subject and channels of a token, or `undefined` when unknown or expired. */
  resolveToken(token: string): Promise<TokenGrant | undefined>
  /** Token and channel-list management, for the HTTP subject endpoints. */
  subjects: SubjectStore
  /**
   * Stores the server's history settings where publishers read them:
   * defaults plus per-channel rules by pattern (first match wins).
   */
  configureHistory(history: { size: number; ttl: number; rules: HistoryRule[] }): Promise<void>
  close(): Promise<void>
}

/** Token and channel-list management of one broker. */
export interface SubjectStore {
  generateToken(subject: string, options?: { ttl?: number | undefined }): Promise<string>
  addChannel(subject: string, channel: string): Promise<boolean>
  removeChannel(subject: string, channel: string): Promise<boolean>
  channels(subject: string): Promise<string[]>
  clear(subject: string): Promise<void>
}
