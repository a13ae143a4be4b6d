import { clientError, networkError } from './clientError'
import { requestHeaders } from './fetchTransport'
import { httpFailure } from './httpFailure'
import type { Transport } from './Transport'

/** One event of a `GET /poll` answer. */
interface PolledEvent {
  id?: string
  type?: string
  channel?: string
  data?: unknown
}

/** The stream URL's `/poll` sibling: same query (public `?channel=`), `/poll` appended to the path. */
export function pollUrlOf(url: URL): URL {
  const poll = new URL(url)
  poll.pathname = `${poll.pathname.replace(/\/$/, '')}/poll`
  return poll
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })

/**
 * Long-polling against the server's `GET /poll`, for networks that cannot
 * stream (buffering proxies, some webviews): each answer is a JSON batch
 * `{ events: [{ id, type, channel, data }], lastEventId }`; the next poll
 * resumes from `lastEventId`. Same auth as the stream (`Authorization:
 * Bearer`), same query (public `?channel=`). The client URL is the stream's;
 * the poll URL is derived with {@link pollUrlOf} unless `pollUrl` is given.
 */
export function createPollTransport({
  url: pollUrl,
  timeout = 40_000,
}: {
  /** The poll endpoint (default: the stream URL with `/poll` appended). */
  url?: URL
  /** Abort a poll that got no answer after this many ms. @defaultValue 40000 */
  timeout?: number
} = {}): Transport {
  return {
    name: 'poll',
    seesKeepAlive: true,
    available: (env) => env.fetch !== undefined,
    open(request, handlers) {
      const run = async () => {
        let cursor = request.lastEventId
        let opened = false
        while (!request.signal.aborted) {
          const url = new URL(pollUrl ?? pollUrlOf(request.url))
          if (cursor) url.searchParams.set('lastEventId', cursor)
          const signal = AbortSignal.any([request.signal, AbortSignal.timeout(timeout)])
          let response: Response
          try {
            response = await (request.fetch as typeof fetch)(url, {
              // The cursor travels in the query; the header would only cost a preflight.
              headers: requestHeaders({ ...request, lastEventId: undefined }, 'application/json'),
              credentials: request.withCredentials ? 'include' : 'same-origin',
              cache: 'no-store',
              signal,
            })
          } catch (cause) {
            const error = networkError(cause)
            return handlers.close(opened ? { kind: 'ended', error } : { kind: 'failed', error })
          }
          if (response.status === 204) return handlers.close({ kind: 'stopped' })
          if (response.status !== 200) return handlers.close(await httpFailure(response))
          let body: { events?: PolledEvent[]; lastEventId?: string | null }
          try {
            body = await response.json()
          } catch (cause) {
            const error = clientError(
              'invalid-response',
              'the poll answer is not JSON: check option pollUrl',
              200,
              cause,
            )
            return handlers.close({ kind: opened ? 'ended' : 'invalid', error })
          }
          if (!opened) {
            opened = true
            handlers.open()
          }
          handlers.activity()
          for (const event of body.events ?? []) {
            if (event.id) handlers.id(event.id)
            handlers.event(event.type || 'message', '', { value: event.data })
          }
          if (body.lastEventId) {
            if (body.lastEventId !== cursor) handlers.id(body.lastEventId)
            cursor = body.lastEventId
          } else if (!body.events?.length) {
            // No cursor to wait on yet (nothing published): don't spin.
            await sleep(1000, request.signal)
          }
        }
      }
      run().catch((error: unknown) => handlers.close({ kind: 'ended', error: networkError(error) }))
      return {}
    },
  }
}

/** {@link createPollTransport} with its defaults. */
export const pollTransport: Transport = /* @__PURE__ */ createPollTransport()
