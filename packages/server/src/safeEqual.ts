import { createHash, timingSafeEqual } from 'node:crypto'

/** Compares two secrets in constant time (lengths are hidden by hashing first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

/** True when the request carries `Authorization: Bearer <key>`. */
export function hasBearer(authorization: string | undefined, key: string): boolean {
  if (!authorization?.toLowerCase().startsWith('bearer ')) return false
  return safeEqual(authorization.slice(7).trim(), key)
}
