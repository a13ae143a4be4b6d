import { formatPartitionedCursor, parsePartitionedCursor } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { PartitionPositions } from './PartitionPositions'

describe('PartitionPositions', () => {
  it('writes the cursor in partition order whatever order the partitions moved in', () => {
    const positions = new PartitionPositions()
    positions.advance(11, 'a8s7d6f5', 7)
    positions.advance(0, 'k3x9a2bq', 42)
    positions.advance(3, 'zz00yy11', 36)
    expect(positions.format()).toBe('0.k3x9a2bq.16_3.zz00yy11.10_b.a8s7d6f5.7')
    positions.advance(11, 'a8s7d6f5', 8)
    expect(positions.format()).toBe('0.k3x9a2bq.16_3.zz00yy11.10_b.a8s7d6f5.8')
  })

  it('changes only the part of the partition that moved, and nothing for a move back', () => {
    const from = [
      { partition: 2, epoch: 'e2', seq: 5 },
      { partition: 9, epoch: '', seq: 0 },
      { partition: 15, epoch: 'e15', seq: 1295 },
    ]
    const positions = new PartitionPositions(
      [from[2], from[0], from[1]].flatMap((e) => (e ? [e] : [])),
    )
    const before = positions.format()
    expect(before).toBe(formatPartitionedCursor(from))
    expect(before).toBe('2.e2.5_9..0_f.e15.zz')
    positions.advance(2, 'e2', 4)
    expect(positions.format()).toBe(before)
    positions.advance(9, 'e9', 1)
    const after = positions.format()
    expect(after).toBe('2.e2.5_9.e9.1_f.e15.zz')
    const [a, b] = [parsePartitionedCursor(before) ?? [], parsePartitionedCursor(after) ?? []]
    expect(b.filter((entry, i) => JSON.stringify(entry) !== JSON.stringify(a[i]))).toEqual([
      { partition: 9, epoch: 'e9', seq: 1 },
    ])
    // A reset puts a partition where it restarts, back or not.
    positions.place(15, 'n15', 0)
    expect(positions.format()).toBe('2.e2.5_9.e9.1_f.n15.0')
    positions.advance(1, 'e1', 35)
    expect(positions.format()).toBe('1.e1.z_2.e2.5_9.e9.1_f.n15.0')
  })
})
