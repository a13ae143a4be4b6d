import type { IncomingMessage } from 'node:http'
import { isRedisseError, isValidChannel, RedisseError } from '@redisse/protocol'
import type { Broker } from './broker/Broker'
import { cookieAuthenticates } from './cors'
import type { Logger } from './createLogger'
import type { ResolvedOptions } from './options'

/** Who a stream belongs to and what it may hear. */
export interface Access {
  channels: string[]
  /** The subject of the token, in token mode. */
  subject: string | undefined
  mode: 'callback' | 'token' | 'public'
  /** The token the stream opened with (token mode): its hash and expiry. */
  token?: { hash: string; expiresAt: number | undefined } | undefined
  /** Token mode: per channel, the log position when it was granted (replay never starts before it). */
  grantedAt?: Record<string, string> | undefined
}

/**
 * The token of a request: query `access_token`, `Authorization: Bearer`, or the cookie.
 * @throws RedisseError `unauthorized` when the cookie's %-encoding is malformed
 */
export function tokenOf(
  req: IncomingMessage,
  url: URL,
  cookieName: string | undefined,
): string | undefined {
  const query = url.searchParams.get('access_token')
  if (query) return query
  const auth = req.headers.authorization
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim() || undefined
  if (cookieName === undefined) return undefined
  for (const part of req.headers.cookie?.split(';') ?? []) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || undefined
      } catch {
        throw new RedisseError(
          'unauthorized',
          `malformed ${cookieName} cookie (bad %-encoding): sign in again for a new token`,
        )
      }
    }
  }
  return undefined
}

/**
 * The answer to a `channels(req)` that threw. What the app threw can hold
 * anything (a database URL with its password, a stack), so the client gets
 * a fixed message and the log gets the detail. An app that wants to tell
 * the client why throws a `RedisseError` itself: its message is sent as is.
 */
function denied(err: unknown, logger: Logger): RedisseError {
  if (isRedisseError(err)) return err
  const status =
    (err as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (err as { statusCode?: unknown } | null)?.statusCode
  logger.warn('channels(req) refused a request', {
    status: status === 401 ? 401 : 403,
    err: err instanceof Error ? err.message : String(err),
  })
  return status === 401
    ? new RedisseError('unauthorized', 'authentication required', { cause: err })
    : new RedisseError('forbidden', 'access denied', { cause: err })
}

/**
 * Decides the channels of a stream request, by the one access mode that
 * applies: the app callback, public `?channel=` names, or a token.
 * @throws RedisseError 401/403/400 before any stream starts
 */
export async function resolveAccess(
  req: IncomingMessage,
  url: URL,
  options: ResolvedOptions,
  broker: Broker,
): Promise<Access> {
  const requested = url.searchParams.getAll('channel')
  let access: Access
  if (options.channels) {
    let list: Iterable<string>
    try {
      list = await options.channels(req)
    } catch (err) {
      throw denied(err, options.logger)
    }
    const channels = [...new Set(list)]
    const bad = channels.find((c) => !isValidChannel(c))
    if (bad !== undefined) {
      throw new RedisseError(
        'internal',
        `channels(req) returned an invalid channel name ${JSON.stringify(String(bad).slice(0, 60))}`,
      )
    }
    if (channels.length === 0) {
      throw new RedisseError('forbidden', 'channels(req) returned no channel for this request')
    }
    access = { channels, subject: undefined, mode: 'callback' }
  } else if (requested.length > 0) {
    if (!options.publicMatch) {
      throw new RedisseError(
        'forbidden',
        'public channels are off on this server: connect with a token, or start it with public (--public)',
      )
    }
    const channels = [...new Set(requested)]
    for (const channel of channels) {
      if (!isValidChannel(channel)) {
        throw new RedisseError(
          'invalid-channel',
          `invalid channel name ${JSON.stringify(String(channel).slice(0, 60))}`,
        )
      }
      if (!options.publicMatch(channel)) {
        throw new RedisseError('forbidden', `channel "${channel}" is not public on this server`)
      }
    }
    access = { channels, subject: undefined, mode: 'public' }
  } else if (options.tokens) {
    const cookieOk = cookieAuthenticates(options.cors, req)
    const token = tokenOf(req, url, cookieOk ? options.tokens.cookie : undefined)
    if (!token && !cookieOk && tokenOf(req, url, options.tokens.cookie)) {
      throw new RedisseError(
        'unauthorized',
        `the token cookie does not authenticate requests from origin ${String(req.headers.origin).slice(0, 100)}: list it in cors.origin with cors.credentials, or send the token in Authorization: Bearer`,
      )
    }
    if (!token) {
      throw new RedisseError(
        'unauthorized',
        'missing token: pass ?access_token=, an Authorization: Bearer header, or the token cookie',
      )
    }
    const grant = await broker.resolveToken(token).catch((cause: unknown) => {
      throw new RedisseError(
        'broker-unavailable',
        'cannot check the token: the broker is unreachable, retry shortly',
        {
          cause,
        },
      )
    })
    if (!grant) throw new RedisseError('unauthorized', 'unknown or expired token')
    if (grant.channels.length === 0) {
      throw new RedisseError('unauthorized', 'this token grants no channel yet')
    }
    access = {
      channels: grant.channels,
      subject: grant.subject,
      mode: 'token',
      token: grant.token,
      grantedAt: grant.grantedAt,
    }
  } else {
    throw new RedisseError('channel-required', 'ask for channels with ?channel=name (public mode)')
  }
  if (access.channels.length > options.limits.channelsPerConnection) {
    throw new RedisseError(
      'too-many-channels',
      `${access.channels.length} channels asked, over limits.channelsPerConnection (${options.limits.channelsPerConnection})`,
    )
  }
  return access
}
