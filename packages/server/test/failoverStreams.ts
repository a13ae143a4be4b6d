import type { PollResponse } from '@redisse/protocol'
import { openSse, openWs } from '@redisse/test-utils'
import type { ChannelLog } from './chaosClient'

/** What one stream of any transport received: payload counters, split at each reset. */
export interface Recorder {
  name: string
  log: ChannelLog
  resets: number
  /** Ids of every event and reset received, in order, to explain a failure. */
  ids: string[]
  /** The newest event id received. */
  lastEventId: string | undefined
  /** True once the `end` marker arrived. */
  ended: boolean
  close(): void
}

function recorder(name: string): Recorder & {
  take(type: string | undefined, id: string | undefined, data: unknown): void
} {
  const rec = {
    name,
    log: { runs: [[]] } as ChannelLog,
    resets: 0,
    ids: [] as string[],
    lastEventId: undefined as string | undefined,
    ended: false,
    close() {},
    take(type: string | undefined, id: string | undefined, data: unknown) {
      if (id) rec.lastEventId = id
      rec.ids.push(`${type}:${id ?? ''}`)
      if (type === 'redisse:reset') {
        rec.resets += 1
        rec.log.runs.push([])
      } else if (type === 'end') {
        rec.ended = true
      } else if (type === 'count') {
        rec.log.runs[rec.log.runs.length - 1]?.push(Number(data))
      }
    },
  }
  return rec
}

/** An SSE stream of `channel`, recorded; resolves once live (`:ok`). */
export async function recordSse(
  url: string,
  channel: string,
  lastEventId?: string,
): Promise<Recorder> {
  const rec = recorder(`sse${lastEventId ? ` from ${lastEventId}` : ''}`)
  const stream = await openSse(`${url}/?channel=${channel}`, {
    headers: lastEventId ? { 'last-event-id': lastEventId } : {},
  })
  let seen = 0
  const sync = () => {
    for (; seen < stream.events.length; seen++) {
      const e = stream.events[seen]
      if (e) rec.take(e.event, e.id, e.data)
    }
  }
  const timer = setInterval(sync, 5)
  await stream.waitForComment('ok')
  rec.close = () => {
    clearInterval(timer)
    sync()
    stream.close()
  }
  return rec
}

/** A WebSocket stream of `channel`, recorded; resolves once live (`redisse:ready`). */
export async function recordWs(url: string, channel: string): Promise<Recorder> {
  const rec = recorder('websocket')
  const ws = await openWs(`${url}/?channel=${channel}`)
  ws.ws?.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as { type: string; id?: string; data: unknown }
    if (frame.type !== 'redisse:ready') rec.take(frame.type, frame.id, frame.data)
  })
  await ws.waitForFrames(1, 5000, (f) => f.type === 'redisse:ready')
  rec.close = () => ws.close()
  return rec
}

/**
 * A long-poll client of `channel`: polls from the head, then from each
 * answer's `lastEventId`, retrying (as the client does) when the node
 * answers with an error while Redis is away.
 */
export async function recordPoll(url: string, channel: string): Promise<Recorder> {
  const rec = recorder('poll')
  let stopped = false
  let cursor: string | undefined
  let controller = new AbortController()
  const once = async () => {
    const query = cursor ? `&lastEventId=${encodeURIComponent(cursor)}` : ''
    const res = await fetch(`${url}/poll?channel=${channel}${query}`, {
      signal: controller.signal,
    })
    if (res.status !== 200) {
      await res.body?.cancel()
      throw new Error(`poll answered ${res.status}`)
    }
    const body = (await res.json()) as PollResponse
    for (const e of body.events) rec.take(e.type, e.id, e.data)
    if (body.lastEventId) cursor = body.lastEventId
  }
  await once()
  void (async () => {
    while (!stopped) {
      try {
        await once()
      } catch {
        if (!stopped) await new Promise((r) => setTimeout(r, 50))
      }
    }
  })()
  rec.close = () => {
    stopped = true
    controller.abort()
    controller = new AbortController()
  }
  return rec
}
