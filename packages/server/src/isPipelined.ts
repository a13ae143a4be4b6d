import type { ServerResponse } from 'node:http'

/**
 * True when node:http queued this response behind an unfinished one on the
 * same connection: the request was pipelined. A stream or a long poll
 * there would wait for a socket it may never get (the one before it can be
 * a stream, or be taken off node:http), and node:http tells a queued
 * response nothing when the connection closes, so it would never be freed.
 * Only valid while the request callback runs, before anything is written.
 */
export function isPipelined(res: ServerResponse): boolean {
  // An HTTP/2 compatibility response always has its (proxy) socket.
  return res.socket === null && !res.headersSent
}
