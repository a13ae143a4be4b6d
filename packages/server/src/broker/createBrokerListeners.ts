import type { Envelope } from '@redisse/protocol'
import type { BrokerState, SubjectEdit } from './Broker'

/**
 * The receivers a broker reports to (one envelope receiver, one edit
 * receiver, any number of state receivers), shared by both brokers. Spread
 * `register` into the broker object; call the `emit*` functions inside it.
 */
export function createBrokerListeners() {
  let envelopeListener: (envelope: Envelope) => void = () => {}
  let editListener: (edit: SubjectEdit) => void = () => {}
  const stateListeners: Array<(state: BrokerState) => void> = []
  return {
    emitEnvelope: (envelope: Envelope) => envelopeListener(envelope),
    emitEdit: (edit: SubjectEdit) => editListener(edit),
    emitState: (state: BrokerState) => {
      for (const listener of stateListeners) listener(state)
    },
    register: {
      onEnvelope(listener: (envelope: Envelope) => void) {
        envelopeListener = listener
      },
      onSubjectEdit(listener: (edit: SubjectEdit) => void) {
        editListener = listener
      },
      onState(listener: (state: BrokerState) => void) {
        stateListeners.push(listener)
      },
    },
  }
}
