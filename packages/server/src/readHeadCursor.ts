import { formatCursor, formatPartitionedCursor, partitionOf } from '@redisse/protocol'
import type { Broker } from './broker/Broker'

/**
 * The cursor of the log's head for a stream of `channels`: `epoch-seq` on a
 * log of one partition, the head of every partition the channels fall in
 * on a partitioned one; undefined while the log (every such partition) is
 * empty.
 */
export async function readHeadCursor(
  broker: Broker,
  channels: readonly string[],
): Promise<string | undefined> {
  const partitions = broker.partitions ?? []
  if (partitions.length <= 1) {
    const head = await broker.head()
    return head.epoch === undefined ? undefined : formatCursor({ epoch: head.epoch, seq: head.seq })
  }
  const heard = [...new Set(channels.map((channel) => partitionOf(channel, partitions.length)))]
  const heads = await Promise.all(
    heard.map(async (partition) => ({
      partition,
      ...(await (partitions[partition] as Broker).head()),
    })),
  )
  if (heads.every((head) => head.epoch === undefined)) return undefined
  return formatPartitionedCursor(
    heads.map((head) => ({ partition: head.partition, epoch: head.epoch ?? '', seq: head.seq })),
  )
}
