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
