import type { Envelope } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import { replayBudgetOf } from './replayBudget'

/** Most events in one page of history. */
export const PAGE_EVENTS = 100
/** Most bytes in one page of history, before the buffer limit caps it lower. */
export const PAGE_BYTES = 64 * 1024

/** Page size and write pacing of a replay, from the node's buffer limit. */
export interface ReplayPacing {
  /** Most envelope bytes per page read. */
  pageBytes: number
  /** A page is written once the client's backlog is at most this. */
  lowWater: number
  /** A client that reads nothing for this long during a replay is cut off, ms. */
  stallMs: number
}

/**
 * Pages small enough that a page, the backlog allowed before writing it and
 * the live events held meanwhile (half the limit) stay within `bufferBytes`.
 */
export function replayPacing(bufferBytes: number, stallMs: number): ReplayPacing {
  const quarter = Math.max(1, Math.floor(bufferBytes / 4))
  return { pageBytes: Math.min(PAGE_BYTES, quarter), lowWater: quarter, stallMs }
}

/** One page, as a replay writes it. */
export interface PagerPage {
  /** The log's epoch at the read (undefined: empty log). */
  epoch: string | undefined
  head: number
  /** Events to write, in sequence order (none of a channel in `gaps`). */
  envelopes: Envelope[]
  /** Every event of the channels up to this sequence is in the page (or was in an earlier one). */
  through: number
  /** Nothing more is due up to `head`. */
  complete: boolean
  /** Channels whose history no longer holds what was due: they get `redisse:reset`, then follow from `head`. */
  gaps: string[]
}

/** Reads history page by page from per-channel positions (see {@link createHistoryPager}). */
export interface HistoryPager {
  /** Reads the next page of `channels`, within the node's read budget. */
  next(channels: readonly string[]): Promise<PagerPage>
}

/**
 * Keeps each channel's position through a paged replay: a channel starts
 * after `from`, or after its `floors` entry when later (the moment it was
 * granted), and a channel first asked for in a later page starts after the
 * head of the page before (it was added live: from now on). Each page moves
 * every position to the page's `through`; a channel found with a gap moves
 * to the head.
 */
export function createHistoryPager(
  broker: Broker,
  options: { from: number; floors?: ReadonlyMap<string, number> | undefined; pageBytes: number },
): HistoryPager {
  const positions = new Map<string, number>()
  let lastHead: number | undefined
  const budget = replayBudgetOf(broker)
  return {
    async next(channels) {
      const after = channels.map((channel) => {
        const known = positions.get(channel)
        if (known !== undefined) return known
        const start = Math.max(
          lastHead ?? options.from,
          options.floors?.get(channel) ?? 0,
          options.from,
        )
        positions.set(channel, start)
        return start
      })
      const page = await budget.run(() =>
        broker.histories({
          channels,
          after,
          maxEvents: PAGE_EVENTS,
          maxBytes: options.pageBytes,
        }),
      )
      lastHead = page.head
      const gaps = channels.filter((_, i) => page.covered[i] === false)
      const gapSet = new Set(gaps)
      channels.forEach((channel, i) => {
        const position = gapSet.has(channel) ? page.head : page.through
        if (position > (after[i] ?? 0)) positions.set(channel, position)
      })
      return {
        epoch: page.epoch,
        head: page.head,
        envelopes:
          gaps.length === 0 ? page.envelopes : page.envelopes.filter((e) => !gapSet.has(e.channel)),
        through: page.through,
        complete: page.complete,
        gaps,
      }
    },
  }
}
