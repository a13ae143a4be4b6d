import { describe, expect, it } from 'vitest'
import type { Connection } from './Connection'
import { createAdmissionLedger, type Reservation } from './createAdmissionLedger'

const limits = { connections: 3, connectionsPerSubject: 2, connectionsPerIp: 2 }
const conn = () => ({ closed: false }) as Connection
const taken = (r: Reservation | string): Reservation => {
  if (typeof r === 'string') throw new Error(`refused: ${r}`)
  return r
}

describe('createAdmissionLedger', () => {
  it('counts places from reserve to release or close, per node, address and subject', () => {
    const ledger = createAdmissionLedger(limits)
    const a = taken(ledger.reserve('1.1.1.1'))
    const b = taken(ledger.reserve('1.1.1.1'))
    expect(ledger.reserve('1.1.1.1')).toBe('ip')
    const c = taken(ledger.reserve('2.2.2.2'))
    expect(ledger.reserve('3.3.3.3')).toBe('node')
    expect(a.claimSubject('s')).toBe(true)
    expect(b.claimSubject('s')).toBe(true)
    expect(c.claimSubject('s')).toBe(false)
    c.release()
    c.release()
    expect(ledger.size).toBe(2)
    const connection = conn()
    a.attached(connection)
    a.release()
    expect(ledger.size).toBe(2)
    ledger.closed(connection)
    ledger.closed(connection)
    expect(ledger.size).toBe(1)
    expect(taken(ledger.reserve('1.1.1.1')).claimSubject('s')).toBe(true)
  })

  it('hands over the edits of its subject that arrived after the reservation, in order', () => {
    const ledger = createAdmissionLedger(limits)
    ledger.recordEdit({ op: 'remove', subject: 's', channel: 'before' })
    const r = taken(ledger.reserve(undefined))
    ledger.recordEdit({ op: 'remove', subject: 's', channel: 'x' })
    ledger.recordEdit({ op: 'remove', subject: 'other', channel: 'y' })
    expect(r.claimSubject('s')).toBe(true)
    ledger.recordEdit({ op: 'add', subject: 's', channel: 'x' })
    ledger.recordEdit({ op: 'clear', subject: 'other' })
    expect(r.attached(conn())).toEqual([
      { op: 'remove', subject: 's', channel: 'x' },
      { op: 'add', subject: 's', channel: 'x' },
    ])
  })

  it('keeps no edit once no admission waits, and calls onSettle once', () => {
    const ledger = createAdmissionLedger(limits)
    const settled: string[] = []
    const early = taken(ledger.reserve(undefined))
    early.onSettle(() => settled.push('early'))
    ledger.recordEdit({ op: 'remove', subject: 's', channel: 'old' })
    early.release()
    const late = taken(ledger.reserve(undefined))
    late.claimSubject('s')
    expect(late.attached(conn())).toEqual([])
    late.onSettle(() => settled.push('late'))
    expect(settled).toEqual(['early', 'late'])
  })
})
