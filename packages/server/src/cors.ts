import type { IncomingMessage, ServerResponse } from 'node:http'
import { RedisseError } from '@redisse/protocol'

/** CORS settings of the server. */
export interface CorsOptions {
  /** Allowed origins: one, a list, or `'*'` (never with credentials). */
  origin: string | string[] | '*'
  /** Send `Access-Control-Allow-Credentials: true` (cookies, `withCredentials`). */
  credentials?: boolean
}

const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID, Cache-Control'

/** True when the request's Origin is the page's own host (a same-origin request). */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (!origin) return false
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

/**
 * Whether the token cookie may authenticate this request. One rule for SSE,
 * WebSocket and poll: a request without an Origin (not a browser page) or
 * from the page's own host, or from an origin listed by name in
 * `cors.origin` with `cors.credentials: true`. Never from an origin that only
 * `'*'` lets in: a browser sends the cookie on a cross-site WebSocket (and on
 * an SSE request with `withCredentials`) whatever CORS says, so any site
 * could otherwise read a user's stream.
 */
export function cookieAuthenticates(cors: CorsOptions | undefined, req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined || isSameOrigin(req)) return true
  if (!cors?.credentials) return false
  const list = Array.isArray(cors.origin) ? cors.origin : [cors.origin]
  return list.includes(origin)
}

/** Checks CORS options once, at start-up. */
export function validateCors(cors: CorsOptions): void {
  const wildcard = cors.origin === '*' || (Array.isArray(cors.origin) && cors.origin.includes('*'))
  if (wildcard && cors.credentials) {
    throw new RedisseError(
      'invalid-option',
      "cors.origin '*' cannot be combined with cors.credentials: list the allowed origins instead",
    )
  }
}

/**
 * Adds the CORS headers for this request's Origin, if allowed. Returns true
 * when the request was a preflight (OPTIONS) and has been answered.
 */
export function applyCors(
  cors: CorsOptions | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const origin = req.headers.origin
  if (cors && origin) {
    const list = Array.isArray(cors.origin) ? cors.origin : [cors.origin]
    if (list.includes('*')) {
      res.setHeader('Access-Control-Allow-Origin', '*')
    } else if (list.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Vary', 'Origin')
      if (cors.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true')
    }
  }
  if (req.method !== 'OPTIONS') return false
  if (res.hasHeader('Access-Control-Allow-Origin')) {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS')
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS)
    res.setHeader('Access-Control-Max-Age', '600')
  }
  res.writeHead(204).end()
  return true
}
