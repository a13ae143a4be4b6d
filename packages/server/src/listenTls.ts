import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { RedisseError } from '@redisse/protocol'
import { brokerReadyWithin } from './brokerReadyWithin'
import type { RedisseServer } from './createServer'

/** What {@link listenTls} needs: PEM files of the certificate (chain) and its key. */
export interface TlsListenOptions {
  port: number
  host: string
  certFile: string
  keyFile: string
}

/**
 * Serves a Redisse server over HTTPS with HTTP/2, and HTTP/1.1 for clients
 * that do not speak it (ALPN), WebSocket upgrades included (HTTP/1.1 only:
 * WebSocket over HTTP/2, RFC 8441, is not offered). One HTTP/2 connection
 * carries any number of streams, so a browser is no longer held to six
 * event streams per origin. Waits for the broker as `listen()` does.
 * @returns the URL, and `close()` for the TLS server once `server.close()` ended the streams
 */
export async function listenTls(
  server: RedisseServer,
  options: TlsListenOptions,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  let cert: Buffer
  let key: Buffer
  try {
    cert = readFileSync(options.certFile)
    key = readFileSync(options.keyFile)
  } catch (err) {
    throw new RedisseError(
      'invalid-option',
      `cannot read --tls-cert / --tls-key (REDISSE_TLS_CERT / REDISSE_TLS_KEY): ${(err as Error).message}`,
    )
  }
  await brokerReadyWithin(server.broker, server.options.redisTimeout)
  let tls: Http2SecureServer
  try {
    // The compat API hands the handler Http2ServerRequest/Response, which mimic node:http's.
    tls = createSecureServer({ cert, key, allowHTTP1: true }, server.handler as never)
  } catch (err) {
    throw new RedisseError(
      'invalid-option',
      `--tls-cert / --tls-key are not a PEM certificate and its key: ${(err as Error).message}`,
    )
  }
  tls.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname
    if (path === '/' || path === '') server.upgrade(req, socket, head)
    else socket.destroy()
  })
  // A failed handshake is the client's problem, never the process's.
  tls.on('tlsClientError', () => {})
  tls.on('sessionError', () => {})
  await new Promise<void>((resolve, reject) => {
    tls.once('error', reject)
    tls.listen(options.port, options.host, () => {
      tls.off('error', reject)
      resolve()
    })
  })
  const port = (tls.address() as AddressInfo).port
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host
  return {
    url: `https://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Idle HTTP/2 sessions and keep-alive sockets would hold close() open.
        const force = setTimeout(resolve, 2000)
        tls.close(() => {
          clearTimeout(force)
          resolve()
        })
      }),
  }
}
