import {
  formatCursor,
  type PartitionCursor,
  parseEventId,
  parsePartitionedCursor,
  partitionOf,
  type ResetEventData,
} from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import type { Hub } from './createHub'
import type { Lane } from './Lane'
import type { PartitionPositions } from './PartitionPositions'
import { type ReplayOutcome, type ReplayRequest, replayHistory } from './replayHistory'

/** The lanes of one stream over several partitions, and its place in each. */
export interface StreamLanes {
  lanes: Map<number, Lane>
  positions: PartitionPositions
  /** Opened with a `Last-Event-ID`: its lanes start where the cursor says, not at the head. */
  resumed: boolean
}

/** Not a cursor of this log: `replayHistory` answers it with an `invalid-cursor` reset. */
const NO_CURSOR = 'not-a-cursor'

/**
 * Resumes a stream over several partitions: each lane replays its
 * partition from that partition's entry of the cursor, as a stream of a
 * one-partition log would, so a multi-partition `Last-Event-ID` resumes
 * every partition exactly. A partition the cursor does not name (a channel
 * granted since, or a cursor of another log) cannot be resumed: its
 * channels get an `invalid-cursor` reset, never a silent gap.
 */
export async function replayLanes(
  request: Omit<ReplayRequest, 'broker' | 'hub'> & {
    brokers: readonly Broker[]
    hubs: readonly Hub[]
    stream: StreamLanes
  },
): Promise<ReplayOutcome> {
  const { connection, stream } = request
  const entries = cursorEntries(request.lastEventId, request.brokers.length)
  // The lanes as the replay starts: one that joins later has none of its own.
  const replayed = new Map(stream.lanes)
  try {
    const outcomes = await Promise.all(
      [...replayed].map(([partition, lane]) =>
        replayLane(partition, lane).finally(() => {
          lane.replaying = false
        }),
      ),
    )
    return mergeOutcomes(outcomes)
  } finally {
    // A lane that joined while the replay ran (a channel of a new partition
    // added to the token) took the stream's hold too, with no replay of its
    // own to end it: it starts at its partition's head, and goes live now.
    for (const [partition, lane] of stream.lanes) {
      if (replayed.get(partition) === lane) continue
      lane.replaying = false
      lane.goLive(0)
    }
    // The stream's own hold (taken before it attached) ends with its lanes' replays.
    connection.goLive(0)
  }

  async function replayLane(partition: number, lane: Lane): Promise<ReplayOutcome | undefined> {
    const broker = request.brokers[partition] as Broker
    const entry = entries.find((e) => e.partition === partition)
    let from = NO_CURSOR
    if (entry && entry.epoch !== '') from = formatCursor(entry)
    else if (entry) {
      // The partition was empty: all it holds now came after the cursor.
      const head = await broker.head()
      // A recovery that read a page meanwhile left it to this replay: the
      // partition holds events by now.
      const at = head.epoch === undefined && lane.recoveryPending ? await broker.head() : head
      if (at.epoch === undefined) {
        lane.goLive(0)
        return undefined
      }
      from = formatCursor({ epoch: at.epoch, seq: 0 })
    }
    return replayHistory({
      ...request,
      broker,
      hub: request.hubs[partition] as Hub,
      connection: lane,
      lastEventId: from,
    })
  }
}

/**
 * The partitions a `Last-Event-ID` names: a stream's cursor names all it
 * heard; an event id as a publish answers it (`epoch-seq@channel`) names
 * the partition of its channel.
 */
export function cursorEntries(lastEventId: string, partitions: number): PartitionCursor[] {
  const entries = parsePartitionedCursor(lastEventId)
  if (entries) return entries
  const single = parseEventId(lastEventId)
  if (!single?.channel || !Number.isSafeInteger(single.cursor.seq)) return []
  return [{ ...single.cursor, partition: partitionOf(single.channel, partitions) }]
}

function mergeOutcomes(outcomes: ReadonlyArray<ReplayOutcome | undefined>): ReplayOutcome {
  let replayed = 0
  let pages = 0
  const channels: string[] = []
  let reason: ResetEventData['reason'] | undefined
  for (const outcome of outcomes) {
    if (!outcome) continue
    replayed += outcome.replayed
    pages += outcome.pages
    if (outcome.reset) {
      channels.push(...outcome.reset.channels)
      reason ??= outcome.reset.reason
    }
  }
  return {
    replayed,
    pages,
    reset: reason === undefined ? undefined : { channels, reason },
    // Heads of several partitions make no single cursor: the stream's own carries them.
    head: { epoch: undefined, seq: 0 },
  }
}
