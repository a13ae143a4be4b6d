import { partitionOf } from '@redisse/protocol'

/** A channel of a partition: `room:<n>` with the smallest n that falls in it. */
export function channelOfPartition(partition: number, partitions: number): string {
  for (let n = 0; ; n++) if (partitionOf(`room:${n}`, partitions) === partition) return `room:${n}`
}
