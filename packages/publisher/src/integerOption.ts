import { RedisseError } from '@redisse/protocol'

/**
 * Reads an integer option of at least `min`; when absent, `fallback`, or an
 * error when there is none (a required option).
 * @throws RedisseError `invalid-option` naming the option
 */
export function integerOption(
  name: string,
  value: unknown,
  min: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const got = value === undefined ? 'nothing' : typeof value === 'number' ? value : typeof value
    throw new RedisseError(
      'invalid-option',
      `${name} must be an integer of at least ${min}, got ${got}`,
    )
  }
  return value
}
