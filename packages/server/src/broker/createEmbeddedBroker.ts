import {
  DEFAULT_HISTORY,
  type Envelope,
  encodePayload,
  formatCursor,
  formatEventId,
  hashToken,
  historyResolver,
  newEpoch,
  newToken,
  RedisseError,
  validateChannel,
  validateEventType,
  validateToken,
} from '@redisse/protocol'
import { historyCovers } from '../historyCoverage'
import type { Broker, BrokerState, PublishRequest, SubjectEdit, TokenGrant } from './Broker'
import { createBrokerListeners } from './createBrokerListeners'
import { createExpiringMap } from './createExpiringMap'

interface StoredToken {
  subject: string
  expiresAt: number | undefined
}

/** How long an idempotency key is remembered, as on Redis (ms). */
const IDEMPOTENCY_TTL = 86_400_000
/** Most idempotency keys remembered at once: beyond, the oldest is forgotten first. */
const MAX_IDEMPOTENCY_KEYS = 100_000

/**
 * The in-process broker used when no Redis is configured: the same semantics
 * as Redis within one process (global sequence, per-channel ring of history,
 * tokens and channel lists in memory). Everything is lost when the process
 * exits, and other processes can only reach it through the server's HTTP API.
 */
export function createEmbeddedBroker(options: { now?: () => number } = {}): Broker {
  const now = options.now ?? Date.now
  const epoch = newEpoch()
  let seq = 0
  let state: BrokerState = 'ready'
  let historyOf = historyResolver({ size: DEFAULT_HISTORY.size, ttl: DEFAULT_HISTORY.ttl }, [])
  const subscribed = new Set<string>()
  // Mirrors the Redis publish script: a bounded, expiring log per channel
  // plus `last`/`since` metadata that outlives it, so gaps are detectable.
  const logs = new Map<
    string,
    { events: Array<{ seq: number; envelope: Envelope }>; expiresAt: number }
  >()
  const meta = new Map<string, { last: number; since: number }>()
  const liveLog = (channel: string) => {
    const log = logs.get(channel)
    if (log && log.expiresAt <= now()) {
      logs.delete(channel)
      return undefined
    }
    return log
  }
  // Expired entries are pruned in amortised sweeps, so memory follows the
  // live tokens and keys, not every one ever issued.
  const idempotency = createExpiringMap<string, { id: string; expiresAt: number }>({
    now,
    maxEntries: MAX_IDEMPOTENCY_KEYS,
  })
  const subjectTokens = new Map<string, Set<string>>()
  const forgetToken = (hash: string, subject: string) => {
    const set = subjectTokens.get(subject)
    set?.delete(hash)
    if (set?.size === 0) subjectTokens.delete(subject)
  }
  const tokens = createExpiringMap<string, StoredToken>({
    now,
    onExpire: (hash, stored) => forgetToken(hash, stored.subject),
  })
  const subjectChannels = new Map<string, Set<string>>()
  // Per subject: channel → log position at its grant (see keys.subjectGranted).
  const subjectGranted = new Map<string, Map<string, string>>()
  const listeners = createBrokerListeners()

  // Delivery is deferred like a network bus would, so callers never see
  // their own listeners run inside publish().
  const emitEdit = (edit: SubjectEdit) => queueMicrotask(() => listeners.emitEdit(edit))

  const broker: Broker = {
    kind: 'embedded',
    get state() {
      return state
    },
    async ready() {},
    async publish(request: PublishRequest) {
      if (state === 'closed') throw closedError()
      // As the Redis broker's publisher does: `server.broker.publish()` is
      // public, and nothing the hub cannot encode may enter the log.
      validateChannel(request.channel)
      validateEventType(request.type)
      const idemKey = request.idempotencyKey
      if (idemKey) {
        const seen = idempotency.get(idemKey)
        if (seen && seen.expiresAt > now()) return formatEventId(seen.id, request.channel)
      }
      seq += 1
      const envelope: Envelope = {
        id: formatCursor({ epoch, seq }),
        channel: request.channel,
        type: request.type,
        ts: now(),
        data: encodePayload(request.data, Number.POSITIVE_INFINITY),
      }
      const history = historyOf(request.channel)
      if (history.size > 0) {
        const info = meta.get(request.channel)
        let log = liveLog(request.channel)
        if (!log) {
          log = { events: [], expiresAt: 0 }
          logs.set(request.channel, log)
          if (info) info.since = seq
        }
        log.events.push({ seq, envelope })
        log.expiresAt = history.ttl > 0 ? now() + history.ttl : Number.POSITIVE_INFINITY
        const current = info ?? { last: seq, since: 0 }
        if (log.events.length > history.size) {
          log.events.splice(0, log.events.length - history.size)
          current.since = log.events[0]?.seq ?? seq
        }
        current.last = seq
        meta.set(request.channel, current)
      }
      if (idemKey) idempotency.set(idemKey, { id: envelope.id, expiresAt: now() + IDEMPOTENCY_TTL })
      if (subscribed.has(request.channel)) queueMicrotask(() => listeners.emitEnvelope(envelope))
      return formatEventId(envelope.id, envelope.channel)
    },
    async head() {
      return { epoch: seq > 0 ? epoch : undefined, seq }
    },
    async histories({ channels, after, maxEvents, maxBytes }) {
      const due: Array<{ seq: number; envelope: Envelope }> = []
      const covered = channels.map((channel, i) => {
        const from = after[i] ?? 0
        const log = liveLog(channel)
        const info = meta.get(channel)
        // Events are in seq order: a page's worth of each (and one to tell
        // that there is more) is all a page can take.
        const events = log?.events ?? []
        let at = events.length
        while (at > 0 && (events[at - 1]?.seq ?? 0) > from) at -= 1
        due.push(...events.slice(at, at + maxEvents + 1))
        return historyCovers(
          { last: info?.last, since: info?.since ?? 0, exists: log !== undefined },
          from,
        )
      })
      due.sort((a, b) => a.seq - b.seq)
      const envelopes: Envelope[] = []
      let bytes = 0
      let complete = true
      for (const { envelope } of due) {
        const size = envelope.data.length + envelope.type.length + envelope.channel.length + 64
        if (envelopes.length >= maxEvents || (envelopes.length > 0 && bytes + size > maxBytes)) {
          complete = false
          break
        }
        bytes += size
        envelopes.push(envelope)
      }
      const last = envelopes[envelopes.length - 1]
      const through = complete || !last ? seq : Number(last.id.slice(last.id.lastIndexOf('-') + 1))
      return {
        epoch: seq > 0 ? epoch : undefined,
        head: seq,
        covered,
        envelopes,
        through,
        complete,
      }
    },
    async subscribe(channel) {
      subscribed.add(channel)
    },
    async unsubscribe(channel) {
      subscribed.delete(channel)
    },
    ...listeners.register,
    async resolveToken(token) {
      const hash = await hashToken(token)
      const stored = tokens.get(hash)
      if (!stored) return undefined
      if (stored.expiresAt !== undefined && stored.expiresAt <= now()) return undefined
      const grant: TokenGrant = {
        subject: stored.subject,
        channels: [...(subjectChannels.get(stored.subject) ?? [])].sort(),
        token: { hash, expiresAt: stored.expiresAt },
        grantedAt: Object.fromEntries(subjectGranted.get(stored.subject) ?? []),
      }
      return grant
    },
    subjects: {
      async generateToken(subject, opts = {}) {
        const token = newToken()
        const hash = await hashToken(token)
        tokens.set(hash, {
          subject,
          expiresAt: opts.ttl === undefined ? undefined : now() + opts.ttl,
        })
        const set = subjectTokens.get(subject) ?? new Set<string>()
        set.add(hash)
        subjectTokens.set(subject, set)
        return token
      },
      async addChannel(subject, channel) {
        const set = subjectChannels.get(subject) ?? new Set<string>()
        const added = !set.has(channel)
        set.add(channel)
        subjectChannels.set(subject, set)
        if (added) {
          const granted = subjectGranted.get(subject) ?? new Map<string, string>()
          granted.set(channel, `${seq > 0 ? epoch : ''}-${seq}`)
          subjectGranted.set(subject, granted)
        }
        emitEdit({ op: 'add', subject, channel })
        return added
      },
      async removeChannel(subject, channel) {
        const set = subjectChannels.get(subject)
        const removed = set?.delete(channel) ?? false
        if (set && set.size === 0) subjectChannels.delete(subject)
        subjectGranted.get(subject)?.delete(channel)
        if (subjectGranted.get(subject)?.size === 0) subjectGranted.delete(subject)
        emitEdit({ op: 'remove', subject, channel })
        return removed
      },
      async channels(subject) {
        return [...(subjectChannels.get(subject) ?? [])].sort()
      },
      async revokeToken(subject, token) {
        const hash = await hashToken(validateToken(token))
        if (tokens.get(hash)?.subject !== subject) return false
        tokens.delete(hash)
        forgetToken(hash, subject)
        emitEdit({ op: 'revoke', subject, tokenHash: hash })
        return true
      },
      async clear(subject) {
        for (const hash of subjectTokens.get(subject) ?? []) tokens.delete(hash)
        subjectTokens.delete(subject)
        subjectChannels.delete(subject)
        subjectGranted.delete(subject)
        emitEdit({ op: 'clear', subject })
      },
    },
    async configureHistory(next) {
      historyOf = historyResolver({ size: next.size, ttl: next.ttl }, next.rules)
      for (const channel of logs.keys()) {
        if (historyOf(channel).size === 0) {
          logs.delete(channel)
          meta.delete(channel)
        }
      }
    },
    async close() {
      state = 'closed'
      listeners.emitState(state)
    },
  }
  return broker
}

function closedError() {
  return new RedisseError('closed', 'the server is shutting down: publish to another node or retry')
}
