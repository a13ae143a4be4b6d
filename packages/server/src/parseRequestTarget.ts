import { RedisseError } from '@redisse/protocol'

const ABSOLUTE_FORM = /^https?:\/\//i

function invalid(target: string): RedisseError {
  return new RedisseError(
    'malformed-target',
    `malformed request target ${JSON.stringify(target.slice(0, 60))}: send a path such as /?channel=news`,
  )
}

/**
 * Reads a request target (`req.url`) as a path and query on this server.
 * An origin-form target is always a path, never a host: `new URL('//a/',
 * base)` would read `a` as a host (and throw on `//a:99999/` or `//[`), so
 * the path a proxy routed on and the one served could differ. Targets with
 * no usable path, or one starting with `//` (or `/\`, which URL parsers
 * read as `//`), are refused rather than guessed at.
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2 request target forms
 * @throws RedisseError `malformed-target` (400), never anything else
 */
export function parseRequestTarget(target: string | undefined): URL {
  const raw = target ?? '/'
  let url: URL
  try {
    if (raw.startsWith('/')) {
      url = new URL(`http://localhost${raw}`)
    } else if (ABSOLUTE_FORM.test(raw)) {
      const absolute = new URL(raw)
      url = new URL(`http://localhost${absolute.pathname}${absolute.search}`)
    } else {
      throw invalid(raw)
    }
  } catch {
    throw invalid(raw)
  }
  if (url.pathname.startsWith('//')) throw invalid(raw)
  return url
}
