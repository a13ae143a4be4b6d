import type { Socket } from 'node:net'
import { startTcpProxy } from '@redisse/test-utils'
import { onFrames } from './respFrames'

/**
 * A loopback proxy to one Redis node that can make the sharded
 * subscriptions of one partition fail on the connections through it while
 * the connections and their other subscriptions stay healthy:
 * - `unsubscribe` makes the node drop them without their client knowing:
 *   it sends SUNSUBSCRIBE on their behalf and swallows the node's
 *   confirmations, so the node truly stops sending those channels'
 *   messages, as when Redis loses a subscription silently (once: a new
 *   SSUBSCRIBE cures it);
 * - `filter` swallows every message of those channels the node sends, on
 *   every connection through it, new ones too, until lifted: a fault no
 *   SSUBSCRIBE, new connection or slot map cures.
 */
export async function startShardedProxy(targetPort: number) {
  const links = new Set<{
    upstream: Socket
    sharded: Set<string>
    swallow: Set<string>
    swallowed: () => void
  }>()
  const filters = new Set<string>()
  let subscribers = 0
  let filtered = 0
  const proxy = await startTcpProxy(targetPort, {
    relay({ client, upstream }) {
      const link = {
        upstream,
        sharded: new Set<string>(),
        swallow: new Set<string>(),
        swallowed() {},
      }
      links.add(link)
      client.on('close', () => links.delete(link))
      onFrames(client, (frame, words) => {
        const [command, ...args] = words
        if (command?.toLowerCase() === 'ssubscribe') {
          if (link.sharded.size === 0) subscribers += 1
          for (const c of args) link.sharded.add(c)
        }
        if (command?.toLowerCase() === 'sunsubscribe') for (const c of args) link.sharded.delete(c)
        upstream.write(frame)
      })
      onFrames(upstream, (frame, words) => {
        const [kind, channel] = words
        if (kind === 'sunsubscribe' && channel !== undefined && link.swallow.delete(channel)) {
          if (link.swallow.size === 0) link.swallowed()
          return
        }
        if (kind === 'smessage' && channel !== undefined) {
          if ([...filters].some((f) => channel.startsWith(f))) {
            filtered += 1
            return
          }
        }
        client.write(frame)
      })
    },
  })
  return {
    port: proxy.port,
    /** How many connections through it have SSUBSCRIBEd so far. */
    get subscribers() {
      return subscribers
    },
    /** How many sharded messages `filter` swallowed so far. */
    get filtered() {
      return filtered
    },
    /** Unsubscribes every sharded channel starting with `prefix`; resolves once the node confirmed. */
    async unsubscribe(prefix: string): Promise<number> {
      let dropped = 0
      await Promise.all(
        [...links].map((link) => {
          const channels = [...link.sharded].filter((c) => c.startsWith(prefix))
          if (channels.length === 0) return undefined
          dropped += channels.length
          for (const c of channels) link.swallow.add(c)
          const done = new Promise<void>((resolve) => {
            link.swallowed = resolve
          })
          // Frames from the client are forwarded whole, so these land between
          // two commands; one channel each, as a SUNSUBSCRIBE spans one slot.
          for (const c of channels) {
            link.upstream.write(`*2\r\n$12\r\nSUNSUBSCRIBE\r\n$${Buffer.byteLength(c)}\r\n${c}\r\n`)
          }
          return done
        }),
      )
      return dropped
    },
    /** Swallows every sharded message of a channel starting with `prefix`; returns the lift. */
    filter(prefix: string): () => void {
      filters.add(prefix)
      return () => filters.delete(prefix)
    },
    close: () => proxy.close(),
  }
}
