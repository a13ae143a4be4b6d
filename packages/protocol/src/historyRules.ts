import { RedisseError } from './errors'
import { globToRegExp } from './globToRegExp'
import { MAX_CHANNEL_LENGTH } from './names'

/** How much history one channel keeps: `size` events for `ttl` ms (0 = none / no expiry). */
export interface HistorySettings {
  size: number
  ttl: number
}

/**
 * History settings for the channels a glob pattern matches (`*` matches any
 * run of characters, including none), e.g. `{ pattern: 'typing:*', size: 0, ttl: 0 }`.
 */
export interface HistoryRule extends HistorySettings {
  pattern: string
}

/** Channel charset plus `*`: a pattern can only match names a channel can have. */
const RULE_PATTERN = /^[A-Za-z0-9_\-.:@/=+*]+$/

/**
 * Throws `invalid-option` unless `pattern` is a channel glob: channel
 * characters and `*`.
 * @returns the pattern, for chaining
 */
export function validateHistoryPattern(pattern: unknown): string {
  if (
    typeof pattern === 'string' &&
    pattern.length > 0 &&
    pattern.length <= MAX_CHANNEL_LENGTH &&
    RULE_PATTERN.test(pattern)
  ) {
    return pattern
  }
  const shown = typeof pattern === 'string' ? JSON.stringify(pattern.slice(0, 60)) : typeof pattern
  throw new RedisseError(
    'invalid-option',
    `invalid history pattern ${shown}: use channel characters (A-Z a-z 0-9 _ - . : @ / = +) and * as wildcard`,
  )
}

/**
 * Builds the lookup of a channel's history settings: those of the first
 * rule whose pattern matches, else `defaults`. The publish script applies
 * the same rule in Lua, from the config hash.
 * @example
 * ```ts
 * const historyOf = historyResolver({ size: 1000, ttl: 3_600_000 }, [{ pattern: 'typing:*', size: 0, ttl: 0 }])
 * historyOf('typing:42') // { size: 0, ttl: 0 }
 * ```
 */
export function historyResolver(
  defaults: HistorySettings,
  rules: readonly HistoryRule[],
): (channel: string) => HistorySettings {
  const compiled = rules.map((rule) => ({
    test: globToRegExp(validateHistoryPattern(rule.pattern)),
    settings: { size: rule.size, ttl: rule.ttl },
  }))
  return (channel) => compiled.find((rule) => rule.test.test(channel))?.settings ?? defaults
}

/**
 * The `historyRules` field of the config hash: one rule per line,
 * `<pattern> <size> <ttl>`, first match wins.
 * @example
 * ```ts
 * formatHistoryRules([{ pattern: 'typing:*', size: 0, ttl: 0 }]) // 'typing:* 0 0'
 * ```
 */
export function formatHistoryRules(rules: readonly HistoryRule[]): string {
  return rules
    .map((rule) => `${validateHistoryPattern(rule.pattern)} ${rule.size} ${rule.ttl}`)
    .join('\n')
}
