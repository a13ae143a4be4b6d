import { RedisseError } from './errors'

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
  /**
   * String: the partition count P of the servers on Redis Cluster, one key
   * whatever P (partition keys carry tags that depend on P, so a publisher
   * with another P would find nothing under its own). Servers create it and
   * keep it alive (`PX`); publishers read it and refuse to publish when it
   * differs from theirs (`partitions-mismatch`).
   */
  partitions: string
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

/** Options of {@link createKeys}. */
export interface KeyOptions {
  /**
   * Names for Redis Cluster: a subject's three keys (`subject-channels`,
   * `subject-tokens`, `subject-granted`) carry the hash tag
   * {@link subjectTag}, so the scripts and transactions over them stay in
   * one slot. Every other name is unchanged (token keys are single keys;
   * a partition's keys come from `createKeys(partitionPrefix(…))`). The
   * prefix may not contain `{` or `}`, which would move the hash tag.
   * @defaultValue false
   */
  cluster?: boolean | undefined
}

/**
 * The hash tag of a subject's keys on Redis Cluster: `s.` and the FNV-1a
 * (32-bit) of the subject id as 8 lowercase hex digits. A hash rather than
 * the id itself, because ids may contain `{` and `}`, which would end or
 * move the tag; subjects whose hashes collide merely share a slot. Subject
 * ids are printable ASCII, so the hash runs over their bytes in any language.
 * @example
 * ```ts
 * subjectTag('42') // 's.87e38583'
 * ```
 */
export function subjectTag(subject: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < subject.length; i++) {
    hash ^= subject.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return `s.${(hash >>> 0).toString(16).padStart(8, '0')}`
}

/**
 * Builds the key names under `prefix`.
 * @param prefix - ends with `:` by convention
 * @param options - `{ cluster: true }` for the Redis Cluster names of subject keys
 * @defaultValue prefix `redisse:`
 * @throws RedisseError `invalid-option` for a cluster prefix containing `{` or `}`
 * @example
 * ```ts
 * createKeys().pubsub('room:42') // 'redisse:ch:room:42'
 * createKeys('redisse:', { cluster: true }).subjectChannels('42')
 * // 'redisse:{s.87e38583}:subject-channels:42'
 * ```
 */
export function createKeys(prefix: string = DEFAULT_PREFIX, options: KeyOptions = {}): RedisKeys {
  if (options.cluster && /[{}]/.test(prefix)) {
    throw new RedisseError(
      'invalid-option',
      `prefix "${prefix}" contains { or }, which would change the cluster hash tags of Redisse's keys: use a prefix without braces`,
    )
  }
  // On a cluster a subject's keys share the slot of its tag, which comes
  // first in the name so that no brace of the subject id can take its place.
  const subjectPrefix = options.cluster
    ? (subject: string) => `${prefix}{${subjectTag(subject)}}:`
    : () => prefix
  return {
    prefix,
    seq: `${prefix}seq`,
    epoch: `${prefix}epoch`,
    config: `${prefix}config`,
    partitions: `${prefix}partitions`,
    pubsub: (channel) => `${prefix}ch:${channel}`,
    history: (channel) => `${prefix}h:${channel}`,
    historyMeta: (channel) => `${prefix}hm:${channel}`,
    token: (tokenHash) => `${prefix}token:${tokenHash}`,
    subjectChannels: (subject) => `${subjectPrefix(subject)}subject-channels:${subject}`,
    subjectTokens: (subject) => `${subjectPrefix(subject)}subject-tokens:${subject}`,
    subjectGranted: (subject) => `${subjectPrefix(subject)}subject-granted:${subject}`,
    control: `${prefix}control`,
    idempotency: (key) => `${prefix}idem:${key}`,
    probe: (node) => `${prefix}probe:${node}`,
  }
}
