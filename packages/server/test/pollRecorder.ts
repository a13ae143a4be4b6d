import type { PollResponse } from '@redisse/protocol'
import type { SseStream } from '@redisse/test-utils'
import { expect } from 'vitest'

/**
 * A long-poll client of `channels` that keeps every answer and moves its
 * cursor as a client would, starting at `cursor`; `poll(at)` asks another
 * node than `url`.
 */
export function pollRecorder(url: string, channels: readonly string[], cursor: string) {
  const answers: PollResponse[] = []
  const poll = async (at = url): Promise<PollResponse> => {
    const query = [
      ...channels.map((c) => `channel=${c}`),
      `lastEventId=${encodeURIComponent(cursor)}`,
    ]
    const res = await fetch(`${at}/poll?${query.join('&')}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as PollResponse
    answers.push(body)
    if (body.lastEventId) cursor = body.lastEventId
    return body
  }
  return { answers, poll }
}

const ended = (a: PollResponse) => a.events.some((e) => e.type === 'end')

/**
 * Polls until an `end` marker came (at most 5 more polls), then checks that
 * the poll client and the SSE stream each got `counts` events once, no
 * reset and the marker. `had` are the counts the poll client got before
 * its recorded answers.
 */
export async function expectEachOnce(options: {
  recorder: ReturnType<typeof pollRecorder>
  sse: SseStream
  counts: readonly number[]
  had: readonly number[]
}): Promise<void> {
  const { recorder, sse } = options
  for (let polls = 0; polls < 5 && !recorder.answers.some(ended); polls++) await recorder.poll()
  const audit = (got: number[], gotEnd: boolean) => ({
    lost: options.counts.filter((n) => !got.includes(n)),
    duplicated: got.filter((n, i) => got.indexOf(n) !== i),
    stranded: !gotEnd,
  })
  const events = recorder.answers.flatMap((a) => a.events)
  const polled = [
    ...options.had,
    ...events.filter((e) => e.type === 'count').map((e) => Number(e.data)),
  ]
  const streamed = sse.events.filter((e) => e.event === 'count').map((e) => Number(e.data))
  expect({
    poll: audit(polled, recorder.answers.some(ended)),
    sse: audit(
      streamed,
      sse.events.some((e) => e.event === 'end'),
    ),
    answers: recorder.answers.map((a) =>
      a.events.map((e) => `${e.type}:${JSON.stringify(e.data)}`),
    ),
  }).toEqual({
    poll: { lost: [], duplicated: [], stranded: false },
    sse: { lost: [], duplicated: [], stranded: false },
    answers: expect.any(Array),
  })
  expect(events.filter((e) => e.type === 'redisse:reset')).toEqual([])
}
