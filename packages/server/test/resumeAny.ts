import type { PollResponse } from '@redisse/protocol'
import { openSse, openWs, waitFor } from '@redisse/test-utils'
import { expect } from 'vitest'
import { BROKERS, type Running } from './harness'

/** Events as any transport received them: id, type and the data's JSON text. */
export interface Got {
  id: string
  type: string
  data: string
}

/** The transports a resume runs over, poll included. */
export const TRANSPORTS = ['sse', 'websocket', 'poll'] as const
/** Every broker with every transport. */
export const MATRIX = BROKERS.flatMap((broker) => TRANSPORTS.map((t) => [broker, t] as const))

/** Sequence of an event id `epoch-seq@channel`. */
export const seqOf = (id: string) => Number((id.split('@')[0] ?? '').split('-').pop())

/** Publishes `count` events of `bytes` bytes of data on `channel`, in order, a batch at a time. */
export async function fill(
  srv: Running,
  channel: string,
  count: number,
  bytes: number,
): Promise<void> {
  const pad = 'x'.repeat(bytes)
  for (let i = 0; i < count; i += 50) {
    const batch: Promise<string>[] = []
    for (let j = i; j < Math.min(count, i + 50); j++) {
      batch.push(srv.publish(channel, 'm', { i: j, pad }))
    }
    await Promise.all(batch)
  }
}

/**
 * Resumes from `cursor` over `transport` and collects events until the
 * `marker` type arrived; `onFirst` runs once the first event arrived (while
 * the replay is still being written).
 */
export async function resume(
  srv: Running,
  transport: (typeof TRANSPORTS)[number],
  path: string,
  cursor: string,
  marker: string,
  onFirst: () => Promise<unknown>,
): Promise<{ events: Got[]; answers: number[] }> {
  const answers: number[] = []
  const timeout = 30_000
  if (transport === 'sse') {
    const stream = await openSse(srv.url + path, { headers: { 'last-event-id': cursor } })
    expect(stream.status).toBe(200)
    await stream.waitForEvents(1, timeout)
    await onFirst()
    await waitFor(() => stream.events.some((e) => e.event === marker) || stream.isEnded, {
      timeout,
      what: 'the marker',
    })
    stream.close()
    return {
      events: stream.events.map((e) => ({ id: e.id ?? '', type: e.event ?? '', data: e.data })),
      answers,
    }
  }
  if (transport === 'websocket') {
    const stream = await openWs(srv.url + path, { headers: { 'last-event-id': cursor } })
    expect(stream.status).toBe(101)
    await waitFor(() => stream.frames.length > 0, { timeout, what: 'a first frame' })
    await onFirst()
    await waitFor(() => stream.frames.some((f) => f.type === marker) || stream.isClosed, {
      timeout,
      what: 'the marker',
    })
    stream.close()
    return {
      events: stream.frames
        .filter((f) => f.type !== 'redisse:ready')
        .map((f) => ({ id: f.id ?? '', type: f.type, data: JSON.stringify(f.data) })),
      answers,
    }
  }
  const events: Got[] = []
  let from = cursor
  let first = true
  const until = Date.now() + timeout
  while (!events.some((e) => e.type === marker)) {
    if (Date.now() > until) throw new Error(`no marker after ${events.length} events`)
    const sep = path.includes('?') ? '&' : '?'
    const res = await fetch(`${srv.url}/poll${path.slice(1)}${sep}lastEventId=${from}`)
    const text = await res.text()
    answers.push(Buffer.byteLength(text))
    const body = JSON.parse(text) as PollResponse
    for (const e of body.events) {
      events.push({ id: e.id ?? '', type: e.type, data: JSON.stringify(e.data) })
    }
    from = encodeURIComponent(body.lastEventId ?? from)
    if (first && body.events.length > 0) {
      first = false
      await onFirst()
    }
  }
  return { events, answers }
}
