/** Default prefix of every Redis key and pub/sub channel Redisse uses. */
export const DEFAULT_PREFIX = 'redisse:'

/**
 * Names of the Redis keys and pub/sub channels under one prefix. Channel
 * names are validated before they reach these builders, and each kind of key
 * has its own fixed segment, so no channel name can reach another kind's key.
 */
export interface RedisKeys {
  prefix: string
  /** String: global event sequence (INCR). */
  seq: string
  /** String: epoch of the log; replaced when Redis loses its data or the log went backwards (`REPLACE_EPOCH_SCRIPT`). */
  epoch: string
  /** Hash: `historySize`, `historyTtl` (ms) written by servers, read by the publish script. */
  config: string
  /** Pub/sub channel carrying the envelopes of one Redisse channel. */
  pubsub(channel: string): string
  /** Sorted set: history of one channel, envelopes scored by sequence. */
  history(channel: string): string
  /**
   * Hash: `last` (seq of the channel's newest event) and `since` (every event
   * of the channel with seq ≥ since is in its history; 0 = all of them).
   * Outlives the history by 30 days so a gap stays detectable.
   */
  historyMeta(channel: string): string
  /**
   * String: the subject id a token (by its SHA-256 hex) belongs to, with the
   * token's ttl as the key's expiry (PX); deleted when the token is revoked.
   */
  token(tokenHash: string): string
  /** Set: channels a subject may hear. */
  subjectChannels(subject: string): string
  /**
   * Set: hashes of a subject's tokens. May hold hashes whose `token:` key
   * has expired; writers remove those (SMEMBERS, then EXISTS of each) when
   * they issue or revoke a token of the subject.
   */
  subjectTokens(subject: string): string
  /**
   * Hash: channel → log position (`<epoch>-<seq>`, epoch empty when nothing
   * was published yet) at the moment the channel was granted to the subject;
   * a resume never replays a channel from before it.
   */
  subjectGranted(subject: string): string
  /** Pub/sub channel announcing subject edits to every server node. */
  control: string
  /** String: event id already assigned to an idempotency key. */
  idempotency(key: string): string
  /**
   * Pub/sub channel of one server node's canary probe: the node publishes
   * to it and must hear itself, or its subscriber connection is dead.
   */
  probe(node: string): string
}

/**
 * Builds the key names under `prefix`.
 * @param prefix - ends with `:` by convention
 * @defaultValue prefix `redisse:`
 * @example
 * ```ts
 * createKeys().pubsub('room:42') // 'redisse:ch:room:42'
 * ```
 */
export function createKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  return {
    prefix,
    seq: `${prefix}seq`,
    epoch: `${prefix}epoch`,
    config: `${prefix}config`,
    pubsub: (channel) => `${prefix}ch:${channel}`,
    history: (channel) => `${prefix}h:${channel}`,
    historyMeta: (channel) => `${prefix}hm:${channel}`,
    token: (tokenHash) => `${prefix}token:${tokenHash}`,
    subjectChannels: (subject) => `${prefix}subject-channels:${subject}`,
    subjectTokens: (subject) => `${prefix}subject-tokens:${subject}`,
    subjectGranted: (subject) => `${prefix}subject-granted:${subject}`,
    control: `${prefix}control`,
    idempotency: (key) => `${prefix}idem:${key}`,
    probe: (node) => `${prefix}probe:${node}`,
  }
}
