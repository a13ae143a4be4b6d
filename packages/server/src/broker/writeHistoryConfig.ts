import { formatHistoryRules, type HistoryRule } from '@redisse/protocol'
import type { ChainableCommander } from 'ioredis'

/**
 * Queues the writes of the server's history settings into one log's config
 * hash on `write` (a MULTI), where the publish script reads them; with
 * `partitions`, also the partition count publishers are checked against.
 */
export function writeHistoryConfig(
  write: ChainableCommander,
  config: string,
  history: { size: number; ttl: number; rules: HistoryRule[]; partitions?: number },
): ChainableCommander {
  write.hset(config, {
    historySize: String(history.size),
    historyTtl: String(history.ttl),
    ...(history.partitions === undefined ? {} : { partitions: String(history.partitions) }),
  })
  if (history.rules.length > 0) {
    write.hset(config, 'historyRules', formatHistoryRules(history.rules))
  } else {
    write.hdel(config, 'historyRules')
  }
  return write
}
