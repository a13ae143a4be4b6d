import type { ServerResponse } from 'node:http'
import { isRedisseError, RedisseError } from '@redisse/protocol'

/** Answers with a JSON error body `{ error: { code, message } }` and the error's status. */
export function sendError(
  res: ServerResponse,
  error: unknown,
  headers: Record<string, string> = {},
): void {
  const err = isRedisseError(error)
    ? error
    : new RedisseError('internal', 'internal error: see the server log', { cause: error })
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify(err.toJSON())
  res.writeHead(err.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  })
  res.end(body)
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  })
  res.end(body)
}
