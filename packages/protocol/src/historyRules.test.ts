import { describe, expect, test } from 'vitest'
import { formatHistoryRules, historyResolver, validateHistoryPattern } from './historyRules'

const defaults = { size: 1000, ttl: 3_600_000 }

describe('historyResolver', () => {
  test('gives the first matching rule, in the order written, else the defaults', () => {
    const historyOf = historyResolver(defaults, [
      { pattern: 'typing:*', size: 0, ttl: 0 },
      { pattern: 'audit:*', size: 100_000, ttl: 0 },
      { pattern: '*', size: 10, ttl: 1000 },
    ])
    expect(historyOf('typing:42')).toEqual({ size: 0, ttl: 0 })
    expect(historyOf('audit:orders')).toEqual({ size: 100_000, ttl: 0 })
    expect(historyOf('room:1')).toEqual({ size: 10, ttl: 1000 })
    expect(historyResolver(defaults, [])('room:1')).toBe(defaults)
  })

  test('matches the whole name, * standing for any run of characters and . + literally', () => {
    const historyOf = historyResolver(defaults, [
      { pattern: 'a.b+*:x', size: 1, ttl: 1 },
      { pattern: 'room:*:typing', size: 2, ttl: 2 },
    ])
    expect(historyOf('a.b+:x').size).toBe(1)
    expect(historyOf('a.b+zz:x').size).toBe(1)
    expect(historyOf('aXb+:x')).toBe(defaults)
    expect(historyOf('aa.b+:x')).toBe(defaults)
    expect(historyOf('room:7:typing').size).toBe(2)
    expect(historyOf('room:7:typing:no')).toBe(defaults)
  })
})

describe('validateHistoryPattern', () => {
  test.each(['', 'a b', 'a?', 'a[1]', 'x\n', 'a%', `${'a'.repeat(201)}`])(
    'refuses %j with invalid-option',
    (pattern) => {
      expect(() => validateHistoryPattern(pattern)).toThrowError(
        expect.objectContaining({ code: 'invalid-option' }),
      )
    },
  )
})

test('formatHistoryRules writes one "<pattern> <size> <ttl>" line per rule', () => {
  expect(
    formatHistoryRules([
      { pattern: 'typing:*', size: 0, ttl: 0 },
      { pattern: 'audit:*', size: 5, ttl: 60_000 },
    ]),
  ).toBe('typing:* 0 0\naudit:* 5 60000')
})
