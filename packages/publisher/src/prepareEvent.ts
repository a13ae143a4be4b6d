import { encodePayload, RedisseError, validateChannel, validateEventType } from '@redisse/protocol'

/** An event that passed every check, with its payload already as JSON text. */
export interface PreparedEvent {
  channel: string
  type: string
  /** `JSON.stringify(data)`, within the payload limit. */
  json: string
  idempotencyKey: string | undefined
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

/**
 * Validates one event before anything is sent, with protocol's validators.
 * @throws RedisseError `invalid-channel`, `invalid-event-type`,
 *   `reserved-event-type`, `invalid-payload`, `payload-too-large`, or
 *   `invalid-idempotency-key`
 */
export function prepareEvent(
  event: { channel: unknown; type: unknown; data: unknown; idempotencyKey?: unknown },
  maxPayloadBytes: number,
): PreparedEvent {
  const channel = validateChannel(event.channel)
  const type = validateEventType(event.type)
  const json = encodePayload(event.data, maxPayloadBytes)
  const { idempotencyKey } = event
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))
  ) {
    throw new RedisseError(
      'invalid-idempotency-key',
      'idempotencyKey must be 1 to 200 printable ASCII characters without spaces',
    )
  }
  return { channel, type, json, idempotencyKey }
}
