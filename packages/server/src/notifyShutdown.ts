import type { ServerContext } from './ServerContext'

/**
 * Calls `push.onShutdown` on every open connection and waits for the
 * returned promises, at most `push.shutdownTimeout` ms, so the app can say
 * goodbye before the server closes the connections.
 */
export async function notifyShutdown(ctx: ServerContext): Promise<void> {
  const push = ctx.options.push
  const onShutdown = push?.onShutdown
  if (!onShutdown) return
  const { logger } = ctx.options
  const calls: Array<Promise<void>> = []
  for (const connection of [...ctx.hub.connections]) {
    try {
      const result = onShutdown.call(push, connection)
      if (result) {
        calls.push(
          Promise.resolve(result).catch((err: unknown) => {
            logger.error('push.onShutdown failed', { conn: connection.id, err: String(err) })
          }),
        )
      }
    } catch (err) {
      logger.error('push.onShutdown threw', { conn: connection.id, err: String(err) })
    }
  }
  if (calls.length === 0) return
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, push.shutdownTimeout ?? 2000)
  })
  await Promise.race([Promise.all(calls), timeout])
  clearTimeout(timer)
}
