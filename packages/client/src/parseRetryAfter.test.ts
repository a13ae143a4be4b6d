import { describe, expect, it } from 'vitest'
import { parseRetryAfter } from './parseRetryAfter'

describe('parseRetryAfter', () => {
  it('reads seconds as ms', () => {
    expect(parseRetryAfter('3')).toBe(3000)
  })

  it('reads an HTTP date as ms from now', () => {
    const now = Date.parse('Mon, 23 Nov 2026 10:00:00 GMT')
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:05 GMT', now)).toBe(5000)
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0)
  })

  it('gives undefined for nothing or garbage', () => {
    expect(parseRetryAfter(null)).toBeUndefined()
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter('-1')).toBeUndefined()
  })
})
