import type { Envelope } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { createLogWatch } from './createLogWatch'

const env = (id: string, channel = 'a'): Envelope => ({ id, channel, type: 't', ts: 1, data: '1' })
const seq = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1))
const file = (watch: ReturnType<typeof createLogWatch>, id: string) =>
  watch.envelope(env(id), seq(id))

describe('createLogWatch', () => {
  it('follows a log whose sequences grow, and remembers its newest event', () => {
    const watch = createLogWatch()
    expect(['e-1', 'e-2', 'e-5'].map((id) => file(watch, id))).toEqual(['next', 'next', 'next'])
    expect(watch.epoch).toBe('e')
    expect(watch.high).toBe(5)
    expect(watch.tip?.id).toBe('e-5')
  })

  it('calls an event at or before the highest sequence of its epoch a regression', () => {
    const watch = createLogWatch()
    file(watch, 'e-7')
    expect(file(watch, 'e-7')).toBe('regressed')
    expect(file(watch, 'e-3')).toBe('regressed')
    // The new log is followed from there.
    expect(file(watch, 'e-4')).toBe('next')
  })

  it('calls another epoch a change, unless a regression awaits its replacement', () => {
    const watch = createLogWatch()
    file(watch, 'e-7')
    expect(file(watch, 'f-1')).toBe('changed')
    file(watch, 'f-9')
    watch.regressed()
    expect(watch.isRetired('f')).toBe(true)
    expect(file(watch, 'g-10')).toBe('next')
    expect(watch.epoch).toBe('g')
    // Late events of the replaced epoch are part of the new log.
    expect(file(watch, 'f-9')).toBe('next')
    expect(watch.isRetired('g')).toBe(false)
  })

  it('answers what filing an envelope would, without filing it', () => {
    const watch = createLogWatch()
    const verdict = (id: string) => watch.verdict(env(id), seq(id))
    expect(verdict('e-7')).toBe('next')
    file(watch, 'e-7')
    expect([verdict('e-7'), verdict('e-3'), verdict('e-8'), verdict('f-1')]).toEqual([
      'regressed',
      'regressed',
      'next',
      'changed',
    ])
    expect({ epoch: watch.epoch, high: watch.high, tip: watch.tip?.id }).toEqual({
      epoch: 'e',
      high: 7,
      tip: 'e-7',
    })
    watch.regressed()
    expect(verdict('g-1')).toBe('next')
    expect(watch.isRetired('e')).toBe(true)
    watch.replaced('e', { epoch: 'g', seq: 3 })
    expect([verdict('e-9'), verdict('h-1')]).toEqual(['next', 'changed'])
  })

  it('follows the epoch a replacement put in place', () => {
    const watch = createLogWatch()
    file(watch, 'e-7')
    watch.regressed()
    watch.replaced('e', { epoch: 'n', seq: 4 })
    expect(watch.epoch).toBe('n')
    expect(watch.isRetired('e')).toBe(true)
    expect(file(watch, 'n-5')).toBe('next')
    // A replacement that failed (the log is empty) changes nothing.
    watch.replaced('n', { epoch: undefined, seq: 0 })
    expect(watch.epoch).toBe('n')
  })

  it('names the epoch in force that replaced a retired one, unless that one was retired too', () => {
    const watch = createLogWatch()
    file(watch, 'e-7')
    watch.regressed()
    expect(watch.successorOf('e')).toBeUndefined()
    expect(watch.hasRetired()).toBe(false)
    watch.replaced('e', { epoch: 'n', seq: 4 })
    expect(watch.hasRetired()).toBe(true)
    expect(watch.successorOf('e')).toBe('n')
    expect(watch.successorOf('n')).toBeUndefined()
    // Replaced as a new epoch's first envelope came while the replacement awaited.
    file(watch, 'n-5')
    watch.regressed()
    expect(watch.successorOf('e')).toBeUndefined()
    expect(file(watch, 'p-6')).toBe('next')
    expect(watch.successorOf('n')).toBe('p')
    expect(watch.successorOf('e')).toBeUndefined()
  })

  it('tells a head behind what the bus had delivered when it was read', () => {
    const watch = createLogWatch()
    file(watch, 'e-7')
    expect(watch.behind({ epoch: 'e', seq: 6 }, 7)).toBe(true)
    expect(watch.behind({ epoch: 'e', seq: 7 }, 7)).toBe(false)
    // A reply can overtake envelopes: only what came before the read counts.
    file(watch, 'e-9')
    expect(watch.behind({ epoch: 'e', seq: 7 }, 7)).toBe(false)
    expect(watch.behind({ epoch: 'f', seq: 1 }, 9)).toBe(false)
  })

  it('keeps a bounded number of retired epochs', () => {
    const watch = createLogWatch()
    for (let i = 0; i < 40; i++) {
      file(watch, `e${i}-${i + 1}`)
      watch.regressed()
      watch.replaced(`e${i}`, { epoch: `e${i + 1}`, seq: i + 1 })
    }
    expect(watch.isRetired('e39')).toBe(true)
    expect(watch.isRetired('e0')).toBe(false)
  })
})
