import { describe, expect, test } from 'vitest'
import { integerOption } from './integerOption'

describe('integerOption', () => {
  test('returns a given integer at or above the minimum', () => {
    expect(integerOption('retry', 0, 0, 5000)).toBe(0)
    expect(integerOption('retry', 7, 1)).toBe(7)
  })

  test('returns the fallback, unchecked, when the option is absent', () => {
    expect(integerOption('retry', undefined, 0, 5000)).toBe(5000)
    expect(integerOption('limits.connectionsPerIp', undefined, 1, Infinity)).toBe(Infinity)
  })

  test.each([
    [-1, 0, 'history.size must be an integer of at least 0, got -1'],
    [1.5, 1, 'history.size must be an integer of at least 1, got 1.5'],
    [Number.NaN, 1, 'history.size must be an integer of at least 1, got NaN'],
    [Infinity, 1, 'history.size must be an integer of at least 1, got Infinity'],
    ['10', 1, 'history.size must be an integer of at least 1, got string'],
    [null, 1, 'history.size must be an integer of at least 1, got object'],
  ])('refuses %s with invalid-option naming the option', (value, min, message) => {
    expect(() => integerOption('history.size', value, min, 10)).toThrow(
      expect.objectContaining({ name: 'RedisseError', code: 'invalid-option', message }),
    )
  })

  test('refuses a required option that is absent', () => {
    expect(() => integerOption('timeout', undefined, 1)).toThrow(
      'timeout must be an integer of at least 1, got nothing',
    )
  })
})
