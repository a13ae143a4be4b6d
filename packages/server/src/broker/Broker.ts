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
  /**
   * The token itself, so its streams can be found again: its SHA-256 hex
   * (what a revocation names) and when it expires (epoch ms, `Date.now()`
   * clock; undefined: never). Absent only from brokers that predate it.
   */
  token?: { hash: string; expiresAt: number | undefined } | undefined
  /**
   * Per channel, the log position when it was granted (`<epoch>-<seq>`,
   * epoch empty when nothing was published yet): a resume never replays a
   * channel from before it. Absent for channels granted before this was
   * recorded, which replay as far back as history goes.
   */
  grantedAt?: Record<string, string>
}

/** A live edit of a subject's channel list, as every node receives it. */
export type SubjectEdit =
  | { op: 'add' | 'remove'; subject: string; channel: string }
  | { op: 'clear'; subject: string }
  /** One token of the subject was revoked: the streams opened with it end. */
  | { op: 'revoke'; subject: string; tokenHash: string }

/** One bounded read of history: which channels, from where, and how much at most. */
export interface HistoryPageRequest {
  channels: readonly string[]
  /** Per channel (same order), the sequence to read after. */
  after: readonly number[]
  /** Most events in the page (at least one is always returned when any is due). */
  maxEvents: number
  /** Most bytes of envelopes in the page (exceeded only by a single event larger than it). */
  maxBytes: number
}

/** Events of several channels after their cursors, merged in publish order, at most one page of them. */
export interface HistoryPage {
  /** The log's epoch at the instant of the read (undefined: empty log). */
  epoch: string | undefined
  /** The log's newest sequence at the instant of the read. */
  head: number
  /**
   * Per channel (request order): false when some events after its cursor
   * are no longer held (trimmed or expired).
   */
  covered: boolean[]
  /** Held events of the channels after their cursors, in sequence order. */
  envelopes: Envelope[]
  /**
   * Every held event of the channels with a sequence up to this one is in
   * `envelopes`: the head when the page holds all that is due, else the
   * sequence of its last event. The next page reads after it.
   */
  through: number
  /** True when nothing more is due up to `head`. */
  complete: boolean
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
   * One page of held events of the channels after their cursors (same
   * epoch), in sequence order and bounded in count and bytes, read at ONE
   * instant for all of them together with the head (a script on Redis):
   * replay merges pages with live events, which is only exact if no publish
   * falls between the reads of two channels.
   */
  histories(request: HistoryPageRequest): Promise<HistoryPage>
  /**
   * Envelopes read from the bus or from history that failed their checks
   * (`parseEnvelope`) and were dropped, each time one was read. Brokers that
   * only carry envelopes they built themselves leave it out.
   */
  readonly droppedEnvelopes?: number
  /**
   * Times the canary probe found a partition's subscription deaf on a
   * connection that lives (its own token stayed away, others came back).
   * Only the Redis Cluster broker has partitions to tell apart.
   */
  readonly deafVerdicts?: number
  /** Partitions found deaf that have not heard their probe since (Redis Cluster). */
  readonly deafPartitions?: number
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
  /**
   * The log split in partitions (Redis Cluster): element `i` is the
   * single-log broker of partition `i` (`partitionOf(channel, length)` of
   * `@redisse/protocol`), with its own epoch, sequence, history, pub/sub
   * subscriptions, state and envelopes; publishes, tokens and subjects are
   * the shared ones. Absent, or of length 1, on a log of one partition
   * (single Redis, Sentinel, the embedded broker): the broker itself is then
   * that log. On a partitioned broker, the top-level `head`, `histories`,
   * `holds`, `replaceEpoch`, `subscribe` and `unsubscribe` are not called:
   * the server calls those of the partitions.
   */
  readonly partitions?: readonly Broker[]
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
  /**
   * Deletes one token of the subject and ends its streams on every node.
   * @returns false when the token is unknown, expired or of another subject
   */
  revokeToken(subject: string, token: string): Promise<boolean>
  clear(subject: string): Promise<void>
}
