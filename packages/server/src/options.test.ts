import { describe, expect, test } from 'vitest'
import { resolveOptions } from './options'

const invalidOption = expect.objectContaining({ code: 'invalid-option' })

describe('resolveOptions history', () => {
  test('fills override settings from the defaults and keeps the order written', () => {
    const { history } = resolveOptions({
      public: true,
      history: { size: 50, ttl: 1000, overrides: { 'typing:*': false, 'audit:*': { size: 9 } } },
    })
    expect(history).toEqual({
      size: 50,
      ttl: 1000,
      enabled: true,
      rules: [
        { pattern: 'typing:*', size: 0, ttl: 0 },
        { pattern: 'audit:*', size: 9, ttl: 1000 },
      ],
    })
  })

  test('is enabled when only an override keeps history', () => {
    const { history } = resolveOptions({
      public: true,
      history: { size: 0, overrides: { 'audit:*': { size: 10 } } },
    })
    expect(history.enabled).toBe(true)
    expect(resolveOptions({ public: true, history: false }).history).toEqual({
      size: 0,
      ttl: 0,
      rules: [],
      enabled: false,
    })
  })

  test.each<[Record<string, { size?: number; ttl?: number } | false>]>([
    [{ 'room?': { size: 1 } }],
    [{ 'a b': false }],
    [{ 'room:*': { size: -1 } }],
    [{ 'room:*': { ttl: 1.5 } }],
  ])('refuses the override %j with invalid-option', (overrides) => {
    expect(() => resolveOptions({ public: true, history: { overrides } })).toThrowError(
      invalidOption,
    )
  })
})

describe('resolveOptions probe', () => {
  test('defaults to a probe every 2 s with a 2 s timeout, and can be turned off', () => {
    expect(resolveOptions({ public: true }).probe).toEqual({ interval: 2000, timeout: 2000 })
    expect(resolveOptions({ public: true, probe: false }).probe).toBe(false)
    expect(() => resolveOptions({ public: true, probe: { interval: 0 } })).toThrowError(
      invalidOption,
    )
  })
})
