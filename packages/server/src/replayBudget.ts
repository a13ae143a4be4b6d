import type { Broker } from './broker/Broker'

/** History reads of one node in flight at once, across every replay and recovery. */
const READS_IN_FLIGHT = 8

/**
 * A node-wide semaphore of history reads: resumes queue for a slot, so a
 * burst of them cannot fill the broker connection that live delivery,
 * publishes and the canary probe share (at most 8 pages, 512 KiB, ahead of
 * them), while small resumes of a reconnect storm still pipeline.
 */
export interface ReplayBudget {
  /** Runs `read` once a slot is free. */
  run<T>(read: () => Promise<T>): Promise<T>
}

/** A budget of `slots` reads in flight. */
export function createReplayBudget(slots: number = READS_IN_FLIGHT): ReplayBudget {
  let busy = 0
  const queue: Array<() => void> = []
  const release = () => {
    const next = queue.shift()
    if (next) next()
    else busy -= 1
  }
  return {
    async run(read) {
      if (busy < slots) busy += 1
      else await new Promise<void>((resolve) => queue.push(resolve))
      try {
        return await read()
      } finally {
        release()
      }
    },
  }
}

const budgets = new WeakMap<Broker, ReplayBudget>()

/** The one budget of the node that reads `broker` (made on first use). */
export function replayBudgetOf(broker: Broker): ReplayBudget {
  let budget = budgets.get(broker)
  if (!budget) {
    budget = createReplayBudget()
    budgets.set(broker, budget)
  }
  return budget
}
