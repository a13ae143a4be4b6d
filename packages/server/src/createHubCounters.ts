import type { CloseReason } from './PushHandler'

/** Counters the hub keeps for `/stats` and `/metrics`. */
export interface HubCounters {
  /** Envelopes received from the bus. */
  received: number
  /** Event frames written to connections. */
  delivered: number
  /** Events a node missed while its bus subscription was down, sent from history. */
  recovered: number
  /** Long polls served (answered at once or after waiting). */
  polls: number
  /** Messages WebSocket clients sent to `push.onMessage`. */
  messages: number
  /**
   * Envelopes from the bus dropped because the log never got to their
   * sequence (a bus peer published them, not the publish script).
   */
  forgedEnvelopes: number
  /** Connections cut off for not reading. */
  slowClientDrops: number
  /** Connections closed, by reason. */
  closed: Record<CloseReason, number>
}

/** Counters of a new hub, all at zero. */
export function createHubCounters(): HubCounters {
  return {
    received: 0,
    delivered: 0,
    recovered: 0,
    polls: 0,
    messages: 0,
    forgedEnvelopes: 0,
    slowClientDrops: 0,
    closed: {
      'client-closed': 0,
      'slow-client': 0,
      'channels-revoked': 0,
      'token-revoked': 0,
      'token-expired': 0,
      'server-shutdown': 0,
      'write-error': 0,
      answered: 0,
      'app-closed': 0,
      'protocol-error': 0,
      'broker-unavailable': 0,
    },
  }
}
