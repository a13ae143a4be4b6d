import type { Connection } from './Connection'
import type { Transport } from './PushHandler'

/** The open connections of a hub, and those of each subject (token mode). */
export interface ConnectionIndex {
  readonly connections: ReadonlySet<Connection>
  add(connection: Connection): void
  /** @returns false when it was not there (detached already) */
  delete(connection: Connection): boolean
  of(subject: string): Connection[]
  transportCounts(): Record<Transport, number>
}

/** Builds an empty {@link ConnectionIndex}. */
export function createConnectionIndex(): ConnectionIndex {
  const connections = new Set<Connection>()
  const bySubject = new Map<string, Set<Connection>>()
  return {
    connections,
    add(connection) {
      connections.add(connection)
      if (connection.subject === undefined) return
      const set = bySubject.get(connection.subject) ?? new Set()
      set.add(connection)
      bySubject.set(connection.subject, set)
    },
    delete(connection) {
      if (!connections.delete(connection)) return false
      if (connection.subject !== undefined) {
        const set = bySubject.get(connection.subject)
        set?.delete(connection)
        if (set?.size === 0) bySubject.delete(connection.subject)
      }
      return true
    },
    of(subject) {
      return [...(bySubject.get(subject) ?? [])]
    },
    transportCounts() {
      const out: Record<Transport, number> = { sse: 0, websocket: 0, poll: 0 }
      for (const connection of connections) out[connection.transport] += 1
      return out
    },
  }
}
