import type { Broker } from './broker/Broker'
import type { AdmissionLedger } from './createAdmissionLedger'
import type { Hub } from './createHub'
import type { WorkerSnapshot } from './mergeSnapshots'
import type { ResolvedOptions } from './options'
import type { AmqpCounters } from './startAmqpIngest'

/** Counters of the node outside the hub. */
export interface NodeCounters {
  published: number
  publishErrors: number
  /** Times the broker connection was lost and retried. */
  brokerReconnects: number
  rejected: Record<
    'limit' | 'subject-limit' | 'ip-limit' | 'unauthorized' | 'forbidden' | 'invalid',
    number
  >
}

/** What the request handlers share. */
export interface ServerContext {
  options: ResolvedOptions
  broker: Broker
  hub: Hub
  /** Places held against the connection limits, and edits racing admissions. */
  admissions: AdmissionLedger
  counters: NodeCounters
  /** Ingest counters when AMQP is on. */
  amqp?: AmqpCounters | undefined
  startedAt: number
  closing: boolean
  /**
   * Set on a worker of `redisse-server --workers N`: the figures of every
   * worker of the box, so `/stats` and `/metrics` answer for all of them.
   */
  gather?: (() => Promise<{ snapshots: WorkerSnapshot[]; expected: number }>) | undefined
}
