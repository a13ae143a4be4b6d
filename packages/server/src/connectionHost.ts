import type { Connection, ConnectionHost } from './Connection'
import type { PushHandler } from './PushHandler'
import type { ServerContext } from './ServerContext'
import { untrackStreamToken } from './trackStreamToken'

/** The host of every connection of a server, plus the push-handler calls. */
export interface NodeConnectionHost extends ConnectionHost {
  /** Logs the opening and calls `push.onOpen`. */
  opened(connection: Connection, details: Record<string, unknown>): void
}

const hosts = new WeakMap<ServerContext, NodeConnectionHost>()

/**
 * Calls an app callback; a throw is logged, never allowed to break delivery
 * to other connections.
 */
function callPush<K extends 'onOpen' | 'onClose' | 'onDrained'>(
  ctx: ServerContext,
  hook: K,
  ...args: Parameters<NonNullable<PushHandler[K]>>
): void {
  const fn = ctx.options.push?.[hook] as ((...a: unknown[]) => void) | undefined
  if (!fn) return
  try {
    settleHook(ctx, hook, fn.apply(ctx.options.push, args))
  } catch (err) {
    ctx.options.logger.error(`push.${hook} threw`, { err: String(err) })
  }
}

/**
 * The hooks are typed `void`, but an `async` one type-checks too: a
 * rejection it returns is logged like a throw, never left unhandled (which
 * would end the process).
 */
export function settleHook(ctx: ServerContext, hook: string, result: unknown): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return
  ;(result as PromiseLike<unknown>).then(undefined, (err: unknown) => {
    ctx.options.logger.error(`push.${hook} failed`, { err: String(err) })
  })
}

/** The one {@link ConnectionHost} of a server (made on first use). */
export function connectionHostOf(ctx: ServerContext): NodeConnectionHost {
  let host = hosts.get(ctx)
  if (host) return host
  const { hub, options } = ctx
  host = {
    maxBufferedBytes: options.limits.bufferBytes,
    maxChannels: options.limits.channelsPerConnection,
    maxMessagesPerSecond: options.websocket ? options.websocket.maxMessagesPerSecond : Infinity,
    releaseSockets: options.releaseSockets,
    subscribe: (connection, channel) => hub.addChannel(connection, channel),
    unsubscribe: (connection, channel) => hub.removeChannel(connection, channel),
    opened(connection, details) {
      options.logger.info('stream opened', {
        conn: connection.id,
        transport: connection.transport,
        ...details,
        ...(connection.subject === undefined ? {} : { subject: connection.subject }),
      })
      callPush(ctx, 'onOpen', connection)
    },
    closed(connection) {
      untrackStreamToken(ctx, connection)
      hub.detach(connection)
      ctx.admissions.closed(connection)
      options.logger.info('stream closed', {
        conn: connection.id,
        transport: connection.transport,
        reason: connection.closeReason,
        durationMs: Date.now() - connection.openedAt,
      })
      callPush(ctx, 'onClose', connection, connection.closeReason ?? 'client-closed')
    },
    drained(connection) {
      callPush(ctx, 'onDrained', connection)
    },
  }
  hosts.set(ctx, host)
  return host
}
