import { partitionOf } from '@redisse/protocol'
import type { Broker } from '../src/broker/Broker'
import { createEmbeddedBroker } from '../src/broker/createEmbeddedBroker'

/**
 * An in-process log split in partitions, as the cluster broker splits one
 * over Redis Cluster: each partition is an embedded broker of its own (its
 * own epoch, sequence and history), and tokens and subjects are shared. It
 * runs the partitioned hub's code path without a cluster.
 */
export function createPartitionedEmbeddedBroker(count: number): Broker {
  const shared = createEmbeddedBroker()
  const partitions = Array.from({ length: count }, () => createEmbeddedBroker())
  const partitionFor = (channel: string) => partitions[partitionOf(channel, count)] as Broker
  return {
    kind: 'embedded',
    get state() {
      return shared.state
    },
    partitions,
    ready: () => shared.ready(),
    publish: (request) => partitionFor(request.channel).publish(request),
    subscribe: (channel) => partitionFor(channel).subscribe(channel),
    unsubscribe: (channel) => partitionFor(channel).unsubscribe(channel),
    head: () => Promise.reject(new Error('a partitioned log has no single head')),
    histories: () => Promise.reject(new Error('a partitioned log is read per partition')),
    onEnvelope: () => {},
    onSubjectEdit: (listener) => shared.onSubjectEdit(listener),
    onState: (listener) => shared.onState(listener),
    resolveToken: (token) => shared.resolveToken(token),
    subjects: shared.subjects,
    async configureHistory(history) {
      await Promise.all([shared, ...partitions].map((b) => b.configureHistory(history)))
    },
    async close() {
      await Promise.all([shared, ...partitions].map((b) => b.close()))
    },
  }
}
