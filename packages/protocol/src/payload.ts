import { RedisseError } from './errors'
import { DEFAULT_MAX_PAYLOAD_BYTES } from './httpApi'

const encoder = new TextEncoder()

/**
 * Serialises a payload to the JSON text that travels as `data`, checking
 * that it is serialisable and within `maxBytes` (UTF-8).
 *
 * @throws RedisseError `invalid-payload` (undefined, functions, cycles, BigInt)
 *   or `payload-too-large`
 * @defaultValue maxBytes 65536
 */
export function encodePayload(data: unknown, maxBytes: number = DEFAULT_MAX_PAYLOAD_BYTES): string {
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch (cause) {
    throw new RedisseError(
      'invalid-payload',
      `payload is not JSON-serialisable: ${String(cause)}`,
      {
        cause,
      },
    )
  }
  if (json === undefined) {
    throw new RedisseError(
      'invalid-payload',
      'payload is not JSON-serialisable (undefined or a function): send null instead',
    )
  }
  // Cheap bound first: a UTF-8 encoding is at most 3 bytes per UTF-16 unit.
  if (json.length * 3 > maxBytes) {
    const size = encoder.encode(json).byteLength
    if (size > maxBytes) {
      throw new RedisseError(
        'payload-too-large',
        `payload is ${size} bytes, over the ${maxBytes}-byte limit: send a reference instead, or raise maxPayloadBytes`,
      )
    }
  }
  return json
}
