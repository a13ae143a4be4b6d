import { createServer, Socket } from 'node:net'

export interface TcpProxy {
  /** Port of the proxy on 127.0.0.1. */
  port: number
  /**
   * Stops forwarding on every open connection without closing it: each side
   * sees a silent peer, as with a half-open TCP connection. New connections
   * are forwarded normally.
   */
  freeze(): void
  /** Destroys every open connection at once (a network drop). */
  drop(): void
  close(): Promise<void>
}

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /**
   * Carries the bytes of each connection instead of plain forwarding (then
   * `freeze()` does not apply to it), for faults of a protocol's own: it
   * writes to `upstream` what `client` sent, and the other way round.
   */
  relay?: (link: { client: Socket; upstream: Socket }) => void
}

/** A loopback TCP proxy to `127.0.0.1:targetPort`, for faults a real network has. */
export async function startTcpProxy(
  targetPort: number,
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>()
  const server = createServer((client) => {
    const upstream = new Socket()
    const pair = { client, upstream, frozen: false }
    pairs.add(pair)
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!pair.frozen) to.write(chunk)
      })
    if (options.relay) options.relay({ client, upstream })
    else {
      forward(client, upstream)
      forward(upstream, client)
    }
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
    upstream.connect(targetPort, '127.0.0.1')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return {
    port: address.port,
    freeze() {
      for (const pair of pairs) pair.frozen = true
    },
    drop() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      pairs.clear()
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
