import {
  type Envelope,
  EPOCH_PATTERN,
  formatEnvelope,
  REPLACE_EPOCH_SCRIPT,
  type RedisKeys,
} from '@redisse/protocol'
import type { Cluster, Redis } from 'ioredis'
import { historyCovers } from '../historyCoverage'
import type { Broker } from './Broker'
import type { EnvelopeReader } from './createEnvelopeReader'
import { HISTORY_PAGE_SCRIPT } from './historyPageScript'

/** Bounds one broker call (see `withDeadline`). */
export type Bounded = <T>(what: string, work: Promise<T>) => Promise<T>

type HistoryPageReply = [
  string | null,
  string,
  number,
  Array<[string | null, string | null, number]>,
  string[],
  string | null,
  number[],
]

/** Name of the history page script's command on the ioredis client. */
const HISTORY_PAGE_COMMAND = 'redisseHistoryPage'

/**
 * The reads and the epoch replacement of ONE log (`keys` of a single Redis,
 * or of one cluster partition, whose keys share a slot): what the Redis
 * broker and each partition of the cluster broker serve alike. Every call is
 * bounded by `bounded`.
 */
export function createLogAccess(options: {
  command: Redis | Cluster
  keys: RedisKeys
  reader: EnvelopeReader
  bounded: Bounded
}): Pick<Broker, 'head' | 'histories'> & Required<Pick<Broker, 'holds' | 'replaceEpoch'>> {
  const { keys, reader, bounded } = options
  const command = options.command as Redis
  if (!(HISTORY_PAGE_COMMAND in command)) {
    command.defineCommand(HISTORY_PAGE_COMMAND, { lua: HISTORY_PAGE_SCRIPT })
  }
  const historyPage = (...args: Array<string | number>) =>
    (command as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[
      HISTORY_PAGE_COMMAND
    ]?.(...args) as Promise<HistoryPageReply>
  return {
    async head() {
      const [epoch, seq] = await bounded('read the log head', command.mget(keys.epoch, keys.seq))
      return { epoch: epoch ?? undefined, seq: Number(seq ?? 0) }
    },
    // Bounded around the whole call rather than inside it, so every history
    // read, however it is paged, settles.
    histories: ({ channels, after, maxEvents, maxBytes }) =>
      bounded(
        `read the history of ${channels.length} channel(s)`,
        (async () => {
          const keyList = [keys.seq, keys.epoch]
          for (const channel of channels) {
            keyList.push(keys.history(channel), keys.historyMeta(channel))
          }
          const [epoch, head, complete, metas, raws, last, origins] = await historyPage(
            keyList.length,
            ...keyList,
            maxEvents,
            maxBytes,
            ...channels.map((_, i) => after[i] ?? 0),
          )
          const covered = channels.map((_, i) => {
            const [last, since, exists] = metas[i] ?? [null, null, 0]
            return historyCovers(
              {
                last: last === null ? undefined : Number(last),
                since: Number(since ?? 0),
                exists: exists === 1,
              },
              after[i] ?? 0,
            )
          })
          const envelopes: Envelope[] = []
          raws.forEach((raw, i) => {
            // Checked against the channel whose history it was read from.
            const channel = channels[(origins[i] ?? 0) - 1]
            const envelope =
              channel === undefined ? undefined : reader.read(raw, keys.pubsub(channel), 'history')
            if (envelope) envelopes.push(envelope)
          })
          return {
            epoch: epoch ?? undefined,
            head: Number(head),
            covered,
            envelopes,
            through: complete === 1 || last === null ? Number(head) : Number(last),
            complete: complete === 1,
          }
        })(),
      ),
    async holds(envelope) {
      const seq = String(envelope.id.slice(envelope.id.lastIndexOf('-') + 1))
      const history = keys.history(envelope.channel)
      const results = await bounded(
        'check that history holds an event',
        command
          .multi()
          .hget(keys.historyMeta(envelope.channel), 'last')
          .zrangebyscore(history, seq, seq)
          .zrange(history, '0', '0', 'WITHSCORES')
          .exec(),
      )
      if (!results) throw new Error('history read aborted')
      const failed = results.find((r) => r[0])
      if (failed) throw failed[0]
      const last = results[0]?.[1] as string | null
      const atSeq = (results[1]?.[1] ?? []) as string[]
      const oldest = (results[2]?.[1] ?? []) as string[]
      if (atSeq.length > 0) return atSeq.includes(formatEnvelope(envelope))
      // Missing although the channel's log ends before it or its held
      // window spans its place. (An event published with a history size of
      // 0 among held ones looks the same: a needless reset, never a loss.)
      if (last !== null && Number(last) < Number(seq)) return false
      if (oldest[1] !== undefined && Number(oldest[1]) <= Number(seq)) return false
      return undefined
    },
    async replaceEpoch(from, to) {
      const reply = await bounded(
        'replace the epoch',
        command.eval(REPLACE_EPOCH_SCRIPT, 2, keys.epoch, keys.seq, from, to),
      )
      const [epoch, seq] = (Array.isArray(reply) ? reply : []) as unknown[]
      // Whatever else sits in those keys is not a log to follow.
      if (typeof epoch !== 'string' || (epoch !== '' && !EPOCH_PATTERN.test(epoch))) {
        throw new Error(`the epoch key holds ${JSON.stringify(String(epoch).slice(0, 40))}`)
      }
      if (!Number.isSafeInteger(Number(seq))) throw new Error('the sequence key holds no integer')
      return { epoch: epoch === '' ? undefined : epoch, seq: Number(seq) }
    },
  }
}
