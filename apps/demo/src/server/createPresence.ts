import type { Publisher } from '@redisse/publisher'
import type { PushHandler } from '@redisse/server'
import { type ChatEvents, channels } from '../shared/events'
import type { Store } from './Store'

/** A user whose last stream closed is announced offline only if none reopened meanwhile (a reload, a reconnect). */
const OFFLINE_GRACE_MS = 2000

/**
 * Presence from Redisse's push handler: in token mode each stream knows its
 * subject (the user), so a user is online while one of their streams is open
 * on any node. Transitions are published on `lobby` as `presence` events.
 */
export function createPresence(
  store: Store,
  publisher: () => Publisher<ChatEvents> | undefined,
  log: (message: string, err: unknown) => void,
): PushHandler {
  const announce = (user: string, online: boolean) => {
    void publisher()
      ?.publish(channels.lobby, 'presence', { user, online })
      .catch((err: unknown) => log('cannot publish presence', err))
  }
  return {
    onOpen(conn) {
      const user = conn.subject
      if (!user) return
      // Every new stream hears its own announcement once it is live (a
      // page can tell its stream is subscribed); a long poll, which opens a
      // connection per request, only on the user's first one.
      store.countStream(user, 1).then(
        (count) => (count === 1 || conn.transport !== 'poll') && announce(user, true),
        (err: unknown) => log('cannot count a stream', err),
      )
    },
    onClose(conn) {
      const user = conn.subject
      if (!user) return
      store.countStream(user, -1).then(
        (count) => {
          if (count > 0) return
          setTimeout(() => {
            store.online().then(
              (online) => online.includes(user) || announce(user, false),
              // The store may be closed by then (the server stopped).
              () => {},
            )
          }, OFFLINE_GRACE_MS).unref()
        },
        (err: unknown) => log('cannot count a stream', err),
      )
    },
  }
}
