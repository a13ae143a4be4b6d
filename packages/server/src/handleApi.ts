import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  isRedisseError,
  RedisseError,
  validateChannel,
  validateSubject,
  validateToken,
} from '@redisse/protocol'
import { sendError, sendJson } from './httpErrors'
import { readJsonBody } from './readJsonBody'
import type { ServerContext } from './ServerContext'
import { hasBearer } from './safeEqual'
import { toPublishRequest } from './toPublishRequest'

/** Most events accepted in one batch publish. */
export const MAX_BATCH = 1000

async function publish(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(req, ctx.options.limits.bodyBytes)
  const { payloadBytes } = ctx.options.limits
  const batch =
    body && typeof body === 'object' && 'events' in body
      ? (body as { events: unknown }).events
      : undefined
  if (batch !== undefined) {
    if (!Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH) {
      throw new RedisseError(
        'invalid-body',
        `"events" must be an array of 1 to ${MAX_BATCH} events`,
      )
    }
    // Validate the whole batch first, so a bad event publishes nothing.
    const requests = batch.map((e) => toPublishRequest(e, payloadBytes))
    const ids: string[] = []
    for (const request of requests) {
      ids.push(await ctx.broker.publish(request))
      ctx.counters.published += 1
    }
    sendJson(res, 200, { ids })
    return
  }
  const request = toPublishRequest(body, payloadBytes)
  const id = await ctx.broker.publish(request)
  ctx.counters.published += 1
  sendJson(res, 200, { id })
}

/** A %-encoded path segment, decoded; a bad encoding is the client's error (400). */
function decodeSegment(raw: string, what: 'subject' | 'channel'): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new RedisseError(
      'malformed-target',
      `the ${what} in the path is not valid %-encoding: encode it with encodeURIComponent`,
    )
  }
}

const SUBJECT_PATH = /^\/subjects\/([^/]+)(?:\/(tokens|channels)(?:\/([^/]+))?)?$/

async function subjects(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  const match = SUBJECT_PATH.exec(path)
  if (!match) return false
  const [, rawSubject = '', kind, rawChannel] = match
  const subject = validateSubject(decodeSegment(rawSubject, 'subject'))
  const store = ctx.broker.subjects
  const method = req.method ?? 'GET'
  if (kind === 'tokens' && rawChannel === undefined && method === 'POST') {
    const body = (await readJsonBody(req, 4096)) as { ttl?: unknown } | null
    const ttl = body?.ttl
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0)) {
      throw new RedisseError('invalid-ttl', 'ttl must be a positive integer of ms')
    }
    sendJson(res, 201, { token: await store.generateToken(subject, { ttl }) })
  } else if (kind === 'tokens' && rawChannel === 'revoke' && method === 'POST') {
    const body = (await readJsonBody(req, 4096)) as { token?: unknown } | null
    const token = validateToken(body?.token)
    sendJson(res, 200, { revoked: await store.revokeToken(subject, token) })
  } else if (kind === 'channels' && rawChannel === undefined && method === 'GET') {
    sendJson(res, 200, { channels: await store.channels(subject) })
  } else if (kind === 'channels' && rawChannel !== undefined && method === 'PUT') {
    const channel = validateChannel(decodeSegment(rawChannel, 'channel'))
    sendJson(res, 200, { added: await store.addChannel(subject, channel) })
  } else if (kind === 'channels' && rawChannel !== undefined && method === 'DELETE') {
    const channel = validateChannel(decodeSegment(rawChannel, 'channel'))
    sendJson(res, 200, { removed: await store.removeChannel(subject, channel) })
  } else if (kind === undefined && method === 'DELETE') {
    await store.clear(subject)
    sendJson(res, 200, { cleared: true })
  } else {
    throw new RedisseError('method-not-allowed', `${method} is not allowed on ${path}`)
  }
  return true
}

/**
 * The HTTP API for backends: `POST /publish` and the subject endpoints, all
 * behind the publish key. Returns false when the path is not one of them.
 */
export async function handleApi(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  if (path !== '/publish' && !path.startsWith('/subjects/')) return false
  const key = ctx.options.publishKey
  try {
    if (!key) {
      throw new RedisseError(
        'not-found',
        'the HTTP API is off: start the server with publishKey (--publish-key)',
      )
    }
    if (!req.headers.authorization) {
      throw new RedisseError('unauthorized', 'send Authorization: Bearer <publish key>')
    }
    if (!hasBearer(req.headers.authorization, key)) {
      throw new RedisseError('forbidden', 'wrong publish key')
    }
    if (path === '/publish') {
      if (req.method !== 'POST') throw new RedisseError('method-not-allowed', 'use POST /publish')
      await publish(ctx, req, res)
      return true
    }
    if (!(await subjects(ctx, req, res, path))) {
      throw new RedisseError('not-found', `no such endpoint: ${path}`)
    }
  } catch (caught) {
    // decodeURIComponent of a path segment with a bad %-encoding.
    const err =
      caught instanceof URIError
        ? new RedisseError('malformed-target', `malformed %-encoding in ${path}`)
        : caught
    if (path === '/publish') ctx.counters.publishErrors += 1
    if (!isRedisseError(err))
      ctx.options.logger.error('API request failed', { path, err: String(err) })
    const retry = isRedisseError(err) && err.status === 503 ? { 'Retry-After': '1' } : {}
    sendError(res, err, retry)
  }
  return true
}
