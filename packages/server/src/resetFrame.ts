import { encodeEvent, ReservedEvents, type ResetEventData } from '@redisse/protocol'

/** The `redisse:reset` frame telling a client to refetch the state of `channels`. */
export function resetFrame(data: ResetEventData, id?: string): string {
  return encodeEvent({
    ...(id === undefined ? {} : { id }),
    event: ReservedEvents.reset,
    data: JSON.stringify(data),
  })
}
