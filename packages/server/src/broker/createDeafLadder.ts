/**
 * Deaf verdicts in a row (no token of its own heard in between) at which a
 * partition's whole connection is replaced, its resubscribe having been no cure.
 */
const REPLACE_AT = 2
/** Least time between two error lines about one partition that stays deaf, ms. */
const STAYS_DEAF_LOG_INTERVAL = 60_000

/**
 * The step a deaf target reached in one probe round:
 * - `resubscribe`: its first verdicts; placing it again is expected to cure it;
 * - `replace`: its resubscribe was no cure, its whole connection is replaced;
 * - `stays-deaf`: a new connection was no cure either, and an error is due;
 * - `still-deaf`: the same, with an error already logged less than a minute ago.
 */
export type DeafStep = 'resubscribe' | 'replace' | 'stays-deaf' | 'still-deaf'

/** What one target of a deaf verdict is to do next. */
export interface DeafRung<T> {
  target: T
  /** Deaf verdicts since it last heard its token, this one included. */
  rounds: number
  step: DeafStep
}

/** Per target, how far a deaf subscription has escalated; no I/O of its own. */
export interface DeafLadder<T> {
  /** Counts one verdict per target and says which step each reached, in their order. */
  deaf(targets: readonly T[]): DeafRung<T>[]
  /**
   * `target` heard its own token: back at the foot of the ladder. Returns the
   * rounds it had climbed (undefined when it was not deaf) and whether it
   * had gone past a resubscribe, which is worth telling an operator.
   */
  heard(target: T): { rounds: number; escalated: boolean } | undefined
  /** Deaf verdicts ever counted. */
  readonly verdicts: number
  /** Targets found deaf that have not heard their token since. */
  readonly deafTargets: number
}

interface Entry {
  rounds: number
  /** When its last `stays-deaf` step was, ms. */
  reportedAt: number
}

/** Options of {@link createDeafLadder}; each has a default for production. */
export interface DeafLadderOptions {
  /** Rounds in a row at which the connection is replaced. @defaultValue 2 */
  replaceAt?: number
  /** Least time between two `stays-deaf` steps of one target, ms. @defaultValue 60000 */
  reportInterval?: number
  /** The clock, ms. @defaultValue `Date.now` */
  now?: () => number
}

/**
 * The escalation of a sharded partition the canary probe finds deaf on a
 * connection that lives: a resubscribe first, then a new connection, then
 * (nothing the pool does having cured it) an error at most once per
 * `reportInterval`, since the verdicts go on at probe cadence.
 */
export function createDeafLadder<T>(options: DeafLadderOptions = {}): DeafLadder<T> {
  const replaceAt = options.replaceAt ?? REPLACE_AT
  const reportInterval = options.reportInterval ?? STAYS_DEAF_LOG_INTERVAL
  const now = options.now ?? Date.now
  // The time of its last error outlives a recovery, so that a partition
  // flapping between deaf and heard still gets one error line a minute.
  const entries = new Map<T, Entry>()
  let verdicts = 0

  const stepOf = (entry: Entry): DeafStep => {
    if (entry.rounds < replaceAt) return 'resubscribe'
    if (entry.rounds === replaceAt) return 'replace'
    const at = now()
    if (at - entry.reportedAt < reportInterval) return 'still-deaf'
    entry.reportedAt = at
    return 'stays-deaf'
  }

  return {
    deaf(targets) {
      verdicts += targets.length
      return targets.map((target) => {
        let entry = entries.get(target)
        if (!entry) {
          entry = { rounds: 0, reportedAt: Number.NEGATIVE_INFINITY }
          entries.set(target, entry)
        }
        entry.rounds += 1
        return { target, rounds: entry.rounds, step: stepOf(entry) }
      })
    },
    heard(target) {
      const entry = entries.get(target)
      if (!entry || entry.rounds === 0) return undefined
      const rounds = entry.rounds
      entry.rounds = 0
      return { rounds, escalated: rounds >= replaceAt }
    },
    get verdicts() {
      return verdicts
    },
    get deafTargets() {
      let count = 0
      for (const entry of entries.values()) if (entry.rounds > 0) count += 1
      return count
    },
  }
}
