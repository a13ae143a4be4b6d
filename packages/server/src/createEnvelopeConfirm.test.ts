import type { Envelope } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { createEnvelopeConfirm, MAX_HELD } from './createEnvelopeConfirm'
import { createLogger } from './createLogger'

const envelope = (seq: number): Envelope => ({
  id: `e0000001-${seq}`,
  channel: 'news',
  type: 'count',
  ts: 0,
  data: String(seq),
})

/** A confirm over a hub that records what it files and drops (no I/O: the unit alone). */
function confirmOverRecordingHub() {
  const filed: number[] = []
  const dropped: number[] = []
  const lines: string[] = []
  const confirm = createEnvelopeConfirm({
    logger: createLogger({ level: 'warn', write: (line) => lines.push(line) }),
    hub: {
      receive: (e) => {
        // As the guard does: an envelope is held while a check is under way.
        if (!confirm.hold(e)) filed.push(Number(e.data))
      },
      dropForged: (e) => dropped.push(Number(e.data)),
    },
  })
  return { confirm, filed, dropped, lines }
}

describe('createEnvelopeConfirm', () => {
  it('gives up a check that never answers once more than MAX_HELD wait, and files them all in order', () => {
    const { confirm, filed, dropped, lines } = confirmOverRecordingHub()
    confirm.start(envelope(1), 'ahead', () => new Promise<boolean>(() => {}))
    for (let seq = 2; seq <= MAX_HELD; seq++) expect(confirm.hold(envelope(seq))).toBe(true)
    expect(filed).toEqual([])
    // One more than the bound: the hold ends, with no answer from Redis.
    expect(confirm.hold(envelope(MAX_HELD + 1))).toBe(true)
    expect(filed).toEqual(Array.from({ length: MAX_HELD + 1 }, (_, i) => i + 1))
    expect(dropped).toEqual([])
    expect(lines.filter((line) => line.includes('too many events held'))).toHaveLength(1)
    // Nothing is held any more: the next one passes straight on.
    expect(confirm.hold(envelope(MAX_HELD + 2))).toBe(false)
  })

  it('drops the first when the check finds it forged, and files the rest in order', async () => {
    const { confirm, filed, dropped } = confirmOverRecordingHub()
    let answer: (forged: boolean) => void = () => {}
    confirm.start(envelope(1), 'past', () => new Promise<boolean>((r) => (answer = r)))
    confirm.hold(envelope(2))
    confirm.hold(envelope(3))
    answer(true)
    await new Promise((r) => setImmediate(r))
    expect({ filed, dropped }).toEqual({ filed: [2, 3], dropped: [1] })
  })

  it('files the first as the bus gave it when the check fails', async () => {
    const { confirm, filed, dropped, lines } = confirmOverRecordingHub()
    confirm.start(envelope(1), 'epoch', () => Promise.reject(new Error('no answer')))
    confirm.hold(envelope(2))
    await new Promise((r) => setImmediate(r))
    expect({ filed, dropped }).toEqual({ filed: [1, 2], dropped: [] })
    expect(lines.some((line) => line.includes('taking it as it came'))).toBe(true)
  })
})
