/** How `*` reads in a channel glob. */
export interface GlobOptions {
  /**
   * `'any'`: `*` (and `**`) match any run of characters, `:` included, as
   * in history rules. `'segment'`: `*` stays within one `:`-separated
   * segment and `**` crosses segments, as in the public allow-list, where a
   * pattern that matches less than meant fails closed.
   * @defaultValue `'any'`
   */
  star?: 'any' | 'segment'
}

const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\]/g

/**
 * Compiles a channel glob to an anchored RegExp. Every character but `*`
 * matches itself. The publish script carries the Lua twin of the `'any'`
 * reading (`LUA_MATCH_GLOB`), tested against this function.
 *
 * @param glob - the pattern, e.g. `room:*`
 * @example
 * ```ts
 * globToRegExp('room:*').test('room:42:private') // true
 * globToRegExp('room:*', { star: 'segment' }).test('room:42:private') // false
 * globToRegExp('room:**', { star: 'segment' }).test('room:42:private') // true
 * ```
 */
export function globToRegExp(glob: string, options: GlobOptions = {}): RegExp {
  const star = options.star === 'segment' ? '[^:]*' : '.*'
  const literal = (text: string) => text.replace(REGEXP_SPECIAL, '\\$&')
  const parts = glob.split('**').map((part) => part.split('*').map(literal).join(star))
  // dotAll: Lua's `.` matches a line break too, and the two must agree.
  return new RegExp(`^${parts.join('.*')}$`, 's')
}
