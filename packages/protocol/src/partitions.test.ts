import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { isRedisseError } from './errors'
import {
  channelOfEventId,
  clusterSlot,
  formatPartitionedCursor,
  MAX_PARTITIONS,
  type PartitionCursor,
  parsePartitionedCursor,
  partitionOf,
  partitionPrefix,
  partitionTag,
  validatePartitions,
} from './partitions'

describe('partitionOf', () => {
  test('is FNV-1a of the name modulo the count, the same in every language', () => {
    expect(partitionOf('room:42', 16)).toBe(10)
    expect(partitionOf('room:42', 1)).toBe(0)
  })

  test('stays in range and spreads channels over every partition', () => {
    const counts = new Array(16).fill(0)
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`user:${i}`, 16)] += 1
    for (const n of counts) expect(n).toBeGreaterThan(800)
  })
})

describe('clusterSlot', () => {
  test('agrees with the CRC16 check value and hash tags of Redis Cluster', () => {
    // CLUSTER KEYSLOT 123456789 is 12739 (0x31c3), the CRC16/XMODEM check value.
    expect(clusterSlot('123456789')).toBe(12739)
    expect(clusterSlot('a{123456789}b')).toBe(12739)
    // An empty tag is no tag: the whole key is hashed.
    expect(clusterSlot('{}123456789')).not.toBe(12739)
  })
})

describe('partitionTag', () => {
  test('puts each partition in its own even share of the slots', () => {
    for (const partitions of [2, 3, 8, 16]) {
      for (let p = 0; p < partitions; p++) {
        const slot = clusterSlot(`{${partitionTag(p, partitions)}}`)
        expect(slot).toBeGreaterThanOrEqual(Math.floor((p * 16384) / partitions))
        expect(slot).toBeLessThan(Math.floor(((p + 1) * 16384) / partitions))
      }
    }
  })
})

describe('partitionPrefix', () => {
  test('keeps the plain prefix for one partition, and tags every other', () => {
    expect(partitionPrefix('redisse:', 0, 1)).toBe('redisse:')
    expect(partitionPrefix('redisse:', 3, 16)).toBe(`redisse:{${partitionTag(3, 16)}}:`)
  })
})

describe('validatePartitions', () => {
  test('takes 1 to 16 and names the option otherwise', () => {
    expect(validatePartitions(16)).toBe(16)
    for (const bad of [0, 17, 1.5, '4', Number.NaN]) {
      let thrown: unknown
      try {
        validatePartitions(bad, 'redis.partitions')
      } catch (error) {
        thrown = error
      }
      expect(isRedisseError(thrown, 'invalid-option')).toBe(true)
      expect(String((thrown as Error).message)).toContain('redis.partitions')
    }
  })
})

const position = fc.record({
  partition: fc.integer({ min: 0, max: MAX_PARTITIONS - 1 }),
  epoch: fc.stringMatching(/^[0-9a-z]{0,16}$/),
  seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
})

describe('partitioned cursors', () => {
  test('format then parse gives the positions back, in partition order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(position, { selector: (p) => p.partition, minLength: 1 }),
        (ps) => {
          const sorted = [...ps].sort((a, b) => a.partition - b.partition)
          expect(parsePartitionedCursor(formatPartitionedCursor(ps))).toEqual(sorted)
          expect(parsePartitionedCursor(`${formatPartitionedCursor(ps)}@room:42`)).toEqual(sorted)
        },
      ),
    )
  })

  test('stays under 512 bytes with every partition at its longest', () => {
    const all: PartitionCursor[] = Array.from({ length: MAX_PARTITIONS }, (_, partition) => ({
      partition,
      epoch: 'z'.repeat(16),
      seq: Number.MAX_SAFE_INTEGER,
    }))
    expect(formatPartitionedCursor(all).length).toBeLessThanOrEqual(512)
  })

  test('refuses classic cursors, repeated or unordered partitions and garbage', () => {
    for (const bad of [
      'k3x9a2bq-42',
      '',
      '0.abc.1_0.abc.2',
      '1.abc.1_0.abc.2',
      'g.abc.1',
      '0.ABC.1',
      '0.abc.',
      '0.abc.1@bad channel',
      `0.abc.${'z'.repeat(12)}`,
    ]) {
      expect(parsePartitionedCursor(bad), bad).toBeUndefined()
    }
  })
})

describe('channelOfEventId', () => {
  test('reads the channel of both cursor forms', () => {
    expect(channelOfEventId('k3x9a2bq-42@room:42')).toBe('room:42')
    expect(channelOfEventId('0.k3x9a2bq.16_b.a8.7@user:a@b')).toBe('user:a@b')
    expect(channelOfEventId('0.k3x9a2bq.16')).toBeUndefined()
  })
})
