import { encodePayload, RedisseError, validateChannel, validateEventType } from '@redisse/protocol'
import type { PublishRequest } from './broker/Broker'

/**
 * Validates one event given as JSON `{ channel, type, data, idempotencyKey? }`
 * (HTTP publish, AMQP ingest) and turns it into a publish request.
 * @throws RedisseError 400 or 413 with the reason
 */
export function toPublishRequest(value: unknown, payloadBytes: number): PublishRequest {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RedisseError('invalid-body', 'each event must be an object { channel, type, data }')
  }
  const { channel, type, data, idempotencyKey } = value as Record<string, unknown>
  if (!('data' in value))
    throw new RedisseError('invalid-body', 'event has no "data" (send null for none)')
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey))
  ) {
    throw new RedisseError(
      'invalid-idempotency-key',
      'idempotencyKey must be 1 to 200 printable ASCII characters',
    )
  }
  encodePayload(data, payloadBytes)
  return {
    channel: validateChannel(channel),
    type: validateEventType(type),
    data,
    idempotencyKey: idempotencyKey as string | undefined,
  }
}
