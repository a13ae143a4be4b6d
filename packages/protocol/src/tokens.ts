import { RedisseError } from './errors'

/** Longest subject id accepted, in characters. */
export const MAX_SUBJECT_LENGTH = 200

/**
 * Subject ids: any 1 to 200 printable characters without spaces (a user id,
 * an email, a UUID…). They only ever appear after a fixed key segment.
 * @throws RedisseError `invalid-subject` otherwise
 */
export function validateSubject(id: unknown): string {
  if (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_SUBJECT_LENGTH &&
    /^[\x21-\x7e]+$/.test(id)
  ) {
    return id
  }
  throw new RedisseError(
    'invalid-subject',
    `invalid subject id ${typeof id === 'string' ? JSON.stringify(id.slice(0, 60)) : typeof id}: use 1 to ${MAX_SUBJECT_LENGTH} printable ASCII characters without spaces`,
  )
}

/** Longest token accepted where one is given back (revocation), in characters. */
export const MAX_TOKEN_LENGTH = 512

/**
 * Checks a token handed back by a caller (to revoke it): a non-empty string
 * of at most {@link MAX_TOKEN_LENGTH} characters. Its content is not
 * checked further: only its hash is ever looked up.
 * @throws RedisseError `invalid-token` otherwise
 */
export function validateToken(token: unknown): string {
  if (typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH) {
    return token
  }
  throw new RedisseError(
    'invalid-token',
    `invalid token (${typeof token === 'string' ? `${token.length} characters` : typeof token}): pass the string generateToken() returned`,
  )
}

/**
 * SHA-256 of a token, lowercase hex: what Redis stores instead of the token.
 * Uses Web Crypto, present in Node ≥ 20 and every current browser.
 */
export async function hashToken(token: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))
  let hex = ''
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** A new random token: 32 bytes from the CSPRNG, base64url (43 characters). */
export function newToken(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32))
  let bin = ''
  for (const byte of bytes) bin += String.fromCharCode(byte)
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}
