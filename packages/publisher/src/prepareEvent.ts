import { encodePayload, RedisseError, validateChannel, validateEventType } from '@redisse/protocol'
import type { PreparedEvent } from './types'

/** Validates one event before anything is sent; throws a typed RedisseError. */
export function prepareEvent(
  channel: unknown,
  type: unknown,
  data: unknown,
  idempotencyKey: unknown,
  maxPayloadBytes: number,
): PreparedEvent {
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey))
  ) {
    throw new RedisseError(
      'invalid-request',
      'idempotencyKey must be 1 to 200 printable ASCII characters',
    )
  }
  return {
    channel: validateChannel(channel),
    type: validateEventType(type),
    data,
    json: encodePayload(data, maxPayloadBytes),
    idempotencyKey: idempotencyKey as string | undefined,
  }
}
