import type { Envelope } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import { createHistoryPager, PAGE_BYTES } from './createHistoryPager'
import type { Logger } from './createLogger'
import { withGuardDeadline } from './withGuardDeadline'

/** Most events of the new log sent after a regression before the streams get the reset alone. */
const MAX_MISSED = 10_000
/** Most history pages read for them. */
const MAX_PAGES = 1000

/**
 * Events of the new log a node missed while the bus was away, after its
 * log went backwards: those history holds on `channels` that were
 * published after `tip`, the newest event it had received. Their sequences
 * may lie below what the node saw, so the read starts at 0; it is paged,
 * and bounded: past MAX_MISSED (or a read that fails) the answer is none,
 * and the streams get the reset only.
 */
export async function readMissedEvents(options: {
  broker: Broker
  channels: string[]
  tip: Envelope | undefined
  logger: Logger
}): Promise<Envelope[]> {
  const { broker, channels, tip, logger } = options
  if (tip === undefined) return []
  try {
    const pager = createHistoryPager(broker, { from: 0, pageBytes: PAGE_BYTES })
    const missed: Envelope[] = []
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const page = await withGuardDeadline(pager.next(channels), 'read history')
      for (const envelope of page.envelopes) if (envelope.ts > tip.ts) missed.push(envelope)
      if (missed.length > MAX_MISSED) throw new Error(`more than ${MAX_MISSED} events to send`)
      if (page.complete) return missed
    }
    throw new Error(`history not read whole in ${MAX_PAGES} pages`)
  } catch (err) {
    logger.warn('cannot read what the new log holds: streams get a reset only', {
      err: String(err),
    })
    return []
  }
}
