import { describe, expect, it } from 'vitest'
import { isAfter } from './isAfter'

describe('isAfter', () => {
  it('orders ids of a log of one partition by sequence, taking a bare cursor at the position', () => {
    expect(isAfter('k3x9a2bq-5@a', 'k3x9a2bq-4@b')).toBe(true)
    expect(isAfter('k3x9a2bq-4@a', 'k3x9a2bq-4@b')).toBe(false)
    expect(isAfter('k3x9a2bq-3@a', 'k3x9a2bq-4@b')).toBe(false)
    expect(isAfter('k3x9a2bq-4', 'k3x9a2bq-4@b')).toBe(true)
    expect(isAfter('a8s7d6f5-1@a', 'k3x9a2bq-4@b')).toBe(true)
  })

  it('takes an id over partitions as new when any partition moved on, and skips one relayed twice', () => {
    const last = '0.k3x9a2bq.5_3.a8s7d6f5.9@a'
    expect(isAfter('0.k3x9a2bq.5_3.a8s7d6f5.a@b', last)).toBe(true)
    expect(isAfter('0.k3x9a2bq.6_3.a8s7d6f5.9@a', last)).toBe(true)
    expect(isAfter('0.k3x9a2bq.5_3.a8s7d6f5.9@a', last)).toBe(false)
    expect(isAfter('0.k3x9a2bq.4_3.a8s7d6f5.9@a', last)).toBe(false)
    expect(isAfter('0.k3x9a2bq.5_3.a8s7d6f5.9_5.a8s7d6f5.1@c', last)).toBe(true)
    expect(isAfter('0.k3x9a2bq.5_3.zzzzzzzz.1@a', last)).toBe(true)
    expect(isAfter('0.k3x9a2bq.5_3.a8s7d6f5.9', last)).toBe(true)
  })

  it('takes ids that are not Redisse ones as new', () => {
    expect(isAfter('42', '0.k3x9a2bq.5@a')).toBe(true)
    expect(isAfter('0.k3x9a2bq.5@a', undefined)).toBe(true)
  })
})
