import type { IncomingMessage } from 'node:http'

/** Which peers may tell the client's address in `X-Forwarded-For`. */
export type TrustProxy = boolean | string[]

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
function normalise(address: string): string {
  const trimmed = address.trim()
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed
}

/**
 * The client address of a request, for the per-address connection limit.
 * Without `trustProxy` it is the socket's peer: `X-Forwarded-For` is any
 * client's to forge. With `trustProxy: true` the peer is a proxy of ours
 * and the left-most `X-Forwarded-For` entry is the client (the one proxy in
 * front rewrites the header). With a list of proxy addresses, the header is
 * read only from one of them, from the right, and the first address that
 * is not one of our proxies is the client, so entries a client prepended
 * are never believed.
 */
export function clientAddressOf(req: IncomingMessage, trustProxy: TrustProxy): string {
  const peer = normalise(req.socket.remoteAddress ?? '')
  if (trustProxy === false) return peer
  const header = req.headers['x-forwarded-for']
  const raw = Array.isArray(header) ? header.join(',') : header
  if (!raw) return peer
  const hops = raw
    .split(',')
    .map(normalise)
    .filter((hop) => hop !== '')
  if (hops.length === 0) return peer
  if (trustProxy === true) return hops[0] ?? peer
  const trusted = new Set(trustProxy.map(normalise))
  if (!trusted.has(peer)) return peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? ''
    if (!trusted.has(hop)) return hop
  }
  return hops[0] ?? peer
}
