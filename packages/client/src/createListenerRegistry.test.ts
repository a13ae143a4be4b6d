import { describe, expect, it } from 'vitest'
import { createListenerRegistry } from './createListenerRegistry'

describe('createListenerRegistry', () => {
  it('announces a key once, on its first listener, and keeps it after the last one leaves', () => {
    const announced: string[] = []
    const registry = createListenerRegistry((key) => announced.push(key))
    const off = registry.on('message', () => {})
    registry.on('message', () => {})
    off()
    registry.on('other', () => {})
    expect(announced).toEqual(['message', 'other'])
    expect([...registry.keys()]).toEqual(['message', 'other'])
  })

  it('calls the listeners of a key in order, and a removed one no more', () => {
    const calls: unknown[] = []
    const registry = createListenerRegistry(() => {})
    const off = registry.on('a', (x, y) => calls.push(['first', x, y]))
    registry.on('a', (x) => calls.push(['second', x]))
    registry.on('b', (x) => calls.push(['b', x]))
    registry.emit('a', 1, 2)
    off()
    registry.emit('a', 3, 4)
    expect(calls).toEqual([
      ['first', 1, 2],
      ['second', 1],
      ['second', 3],
    ])
  })

  it('runs every listener of the emit even when one removes another', () => {
    const calls: string[] = []
    const registry = createListenerRegistry(() => {})
    let offSecond = () => {}
    registry.on('a', () => {
      calls.push('first')
      offSecond()
    })
    offSecond = registry.on('a', () => calls.push('second'))
    registry.emit('a', undefined, undefined)
    registry.emit('a', undefined, undefined)
    expect(calls).toEqual(['first', 'second', 'first'])
  })
})
