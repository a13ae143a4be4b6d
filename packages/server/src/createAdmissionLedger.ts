import type { SubjectEdit } from './broker/Broker'
import type { Connection } from './Connection'

/** Why the ledger refused a place. */
export type LedgerRefusal = 'node' | 'ip'

/**
 * The place one connection holds in the node's limits, from the moment it
 * is admitted until it closes (or its admission fails): counted at once, so
 * a burst of concurrent connects cannot pass a limit while earlier ones are
 * still looking up their token.
 */
export interface Reservation {
  /**
   * Counts the place against `subject` once access is decided (undefined
   * outside token mode), checked and taken in one synchronous step. Edits of
   * that subject recorded since the reservation are kept for {@link attached}.
   * @returns false at the per-subject limit (nothing is taken then)
   */
  claimSubject(subject: string | undefined): boolean
  /**
   * The connection joined the hub: returns the channel-list edits of its
   * subject that arrived while it was being admitted (to apply to it, since
   * the subject's open connections did not include it yet), stops recording,
   * and keeps the place until {@link AdmissionLedger.closed}.
   */
  attached(connection: Connection): SubjectEdit[]
  /** Gives the place back; no-op once released or attached (a connection releases on close). */
  release(): void
  /** Calls `listener` once, when the reservation is attached or released. */
  onSettle(listener: () => void): void
}

/** What an open connection counts against. */
interface Place {
  readonly ip: string | undefined
  subject: string | undefined
}

/** The node's count of admitted connections, and the edits they must not miss. */
export interface AdmissionLedger {
  /** Places held: connections being admitted plus open ones. */
  readonly size: number
  /**
   * Takes a place, checking `limits.connections` and `limits.connectionsPerIp`
   * in the same synchronous step. From now on the edits of the subject this
   * connection turns out to have are recorded.
   */
  reserve(ip: string | undefined): Reservation | LedgerRefusal
  /** A subject edit from the broker: recorded for connections still being admitted. */
  recordEdit(edit: SubjectEdit): void
  /** An attached connection closed: its place is given back. */
  closed(connection: Connection): void
}

/**
 * Builds the ledger of admissions. While a token is being read, the subject
 * is not known yet, so every edit is journaled from the moment the
 * reservation was taken; once the subject is known the journal entries of
 * that subject are kept and later edits go straight to it. The journal keeps
 * only what a reservation still waiting for its token may need.
 */
export function createAdmissionLedger(limits: {
  connections: number
  connectionsPerSubject: number
  connectionsPerIp: number
}): AdmissionLedger {
  let size = 0
  const perIp = new Map<string, number>()
  const perSubject = new Map<string, number>()
  // Edits recorded for reservations whose subject is known, not attached yet.
  const waitingBySubject = new Map<string, Set<{ edits: SubjectEdit[] }>>()
  // Journal of every edit since the oldest reservation still reading its token.
  let journal: SubjectEdit[] = []
  let journalStart = 0
  // Reservations reading their token, by the journal position they started
  // at; positions only grow, so the first key is the oldest.
  const readingFrom = new Map<number, number>()
  // A plain record per open connection rather than a closure over its
  // reservation, which would keep the whole reservation alive as long.
  const byConnection = new Map<Connection, Place>()

  const bump = (map: Map<string, number>, key: string, by: number) => {
    const next = (map.get(key) ?? 0) + by
    if (next > 0) map.set(key, next)
    else map.delete(key)
  }
  const giveBack = (place: Place) => {
    size -= 1
    if (place.ip !== undefined) bump(perIp, place.ip, -1)
    if (place.subject !== undefined) bump(perSubject, place.subject, -1)
  }
  const stopReading = (from: number) => {
    const left = (readingFrom.get(from) ?? 1) - 1
    if (left > 0) {
      readingFrom.set(from, left)
      return
    }
    readingFrom.delete(from)
    const oldest = readingFrom.keys().next()
    if (oldest.done) {
      journalStart += journal.length
      journal = []
    } else if (oldest.value > journalStart) {
      journal = journal.slice(oldest.value - journalStart)
      journalStart = oldest.value
    }
  }

  return {
    get size() {
      return size
    },
    reserve(ip) {
      if (size >= limits.connections) return 'node'
      if (ip !== undefined && (perIp.get(ip) ?? 0) >= limits.connectionsPerIp) return 'ip'
      size += 1
      if (ip !== undefined) bump(perIp, ip, 1)
      const from = journalStart + journal.length
      readingFrom.set(from, (readingFrom.get(from) ?? 0) + 1)
      let reading = true
      const place: Place = { ip, subject: undefined }
      let waiting: { edits: SubjectEdit[] } | undefined
      let state: 'pending' | 'attached' | 'released' = 'pending'
      let onSettle: (() => void) | undefined
      const unwait = () => {
        onSettle?.()
        onSettle = undefined
        if (reading) {
          reading = false
          stopReading(from)
        }
        if (place.subject !== undefined && waiting) {
          const set = waitingBySubject.get(place.subject)
          set?.delete(waiting)
          if (set?.size === 0) waitingBySubject.delete(place.subject)
          waiting = undefined
        }
      }
      return {
        claimSubject(name) {
          if (state !== 'pending' || !reading) return state === 'pending'
          if (name === undefined) {
            reading = false
            stopReading(from)
            return true
          }
          if ((perSubject.get(name) ?? 0) >= limits.connectionsPerSubject) return false
          place.subject = name
          bump(perSubject, name, 1)
          waiting = { edits: journal.slice(from - journalStart).filter((e) => e.subject === name) }
          const set = waitingBySubject.get(name) ?? new Set()
          set.add(waiting)
          waitingBySubject.set(name, set)
          reading = false
          stopReading(from)
          return true
        },
        attached(connection) {
          if (state !== 'pending') return []
          state = 'attached'
          const edits = waiting?.edits ?? []
          unwait()
          // A connection that already closed will never report it again.
          if (connection.closed) giveBack(place)
          else byConnection.set(connection, place)
          return edits
        },
        release() {
          if (state !== 'pending') return
          state = 'released'
          unwait()
          giveBack(place)
        },
        onSettle(listener) {
          if (state !== 'pending') listener()
          else onSettle = listener
        },
      }
    },
    recordEdit(edit) {
      for (const waiting of waitingBySubject.get(edit.subject) ?? []) waiting.edits.push(edit)
      if (readingFrom.size > 0) journal.push(edit)
    },
    closed(connection) {
      const place = byConnection.get(connection)
      if (!place) return
      byConnection.delete(connection)
      giveBack(place)
    },
  }
}
