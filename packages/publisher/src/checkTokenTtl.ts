import { RedisseError } from '@redisse/protocol'
import type { GenerateTokenOptions } from './Subject'

/**
 * Reads the token lifetime of {@link GenerateTokenOptions}.
 * @throws RedisseError `invalid-ttl` unless absent or a positive integer of ms
 */
export function checkTokenTtl(options: GenerateTokenOptions): number | undefined {
  const { ttl } = options
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0)) {
    throw new RedisseError('invalid-ttl', 'ttl must be a positive integer of ms')
  }
  return ttl
}
