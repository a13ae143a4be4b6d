import { RedisseError } from './errors'

/**
 * Reads an integer option of at least `min`. When the option is absent it
 * is `fallback`, or refused when there is none (a required option). The
 * fallback is not checked, so `Infinity` can stand for "no limit".
 *
 * @param name - the option's path as the user writes it (`limits.connections`), named in the message
 * @param value - what the user gave
 * @param min - the least value accepted
 * @param fallback - the value when the option is absent
 * @throws RedisseError `invalid-option` naming the option, the bound and what was given
 * @example
 * ```ts
 * const timeout = integerOption('publishTimeout', options.publishTimeout, 1, 5000)
 * ```
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
