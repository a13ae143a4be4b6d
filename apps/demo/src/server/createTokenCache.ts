/** Options of {@link createTokenCache}. */
export interface TokenCacheOptions {
  /** Mints a new Redisse token of `user` living `ttl` ms. */
  issue(user: string, ttl: number): Promise<string>
  /** Whether the broker still knows `token` as `user`'s (not revoked, expired or forgotten). */
  isValid(token: string, user: string): Promise<boolean>
  /** Lifetime of a minted token, ms. */
  ttl: number
  now?: () => number
}

/**
 * Hands out one Redisse token per user and keeps giving the same one while
 * it is valid and has more than half its life left, instead of minting a
 * token on every `GET /api/me`: every token minted is stored until it
 * expires, so minting per request grew the broker's memory without bound.
 * Concurrent requests of one user share one mint.
 */
export function createTokenCache(options: TokenCacheOptions) {
  const now = options.now ?? Date.now
  const held = new Map<string, { token: Promise<string>; renewAt: number }>()
  const mint = (user: string) => {
    const token = options.issue(user, options.ttl)
    const entry = { token, renewAt: now() + options.ttl / 2 }
    held.set(user, entry)
    // A failed mint is not kept: the next request tries again.
    token.catch(() => {
      if (held.get(user) === entry) held.delete(user)
    })
    return token
  }
  const tokenOf = async (user: string): Promise<string> => {
    const entry = held.get(user)
    if (!entry || entry.renewAt <= now()) return mint(user)
    const token = await entry.token.catch(() => undefined)
    if (token !== undefined && (await options.isValid(token, user))) return token
    // Revoked, or the broker lost it (an embedded broker restarted, Redis
    // flushed); another request may have minted a new one meanwhile.
    return held.get(user) === entry ? mint(user) : tokenOf(user)
  }
  return {
    /** The user's current token, minted when there is none worth reusing. */
    tokenOf,
  }
}
