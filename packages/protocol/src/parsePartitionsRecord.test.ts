import { describe, expect, test } from 'vitest'
import { isRedisseError } from './errors'
import { parsePartitionsRecord, partitionsRecordReadError } from './parsePartitionsRecord'

const KEY = 'redisse:partitions'

describe('parsePartitionsRecord', () => {
  test('reads a count from 1 to 16, and no record as undefined', () => {
    expect(parsePartitionsRecord('1', KEY)).toBe(1)
    expect(parsePartitionsRecord('16', KEY)).toBe(16)
    expect(parsePartitionsRecord(null, KEY)).toBeUndefined()
  })

  test.each([
    'abc',
    '',
    '16.5',
    '-1',
    '0',
    '17',
    '08',
    ' 8',
    '8 ',
    '1e1',
    '0x10',
    '99999999999999999999',
    '8\r\nx',
  ])('refuses %j with partitions-record-invalid, naming the key', (recorded) => {
    let err: unknown
    try {
      parsePartitionsRecord(recorded, KEY)
    } catch (e) {
      err = e
    }
    expect(isRedisseError(err, 'partitions-record-invalid')).toBe(true)
    expect((err as Error).message).toContain(`DEL ${KEY}`)
    expect((err as Error).message).toContain(JSON.stringify(recorded))
  })

  test('quotes at most 32 characters of a long record, escaped', () => {
    const recorded = `\r\n${'x'.repeat(10_000)}`
    const message = (() => {
      try {
        parsePartitionsRecord(recorded, KEY)
      } catch (e) {
        return (e as Error).message
      }
      return ''
    })()
    expect(message).toContain(`${JSON.stringify(recorded.slice(0, 32))}… (10002 characters)`)
    expect(message).not.toMatch(/[\r\n]/)
    expect(message.length).toBeLessThan(400)
  })
})

describe('partitionsRecordReadError', () => {
  const key = KEY
  test('turns the wrong-type error of a command or a script into partitions-record-invalid', () => {
    const plain = 'WRONGTYPE Operation against a key holding the wrong kind of value'
    for (const message of [
      plain,
      `${plain} script: 1f, on @user_script:2.`,
      `ERR Error running script: @user_script:2: ${plain}`,
    ]) {
      const cause = new Error(message)
      const err = partitionsRecordReadError(cause, key)
      expect(isRedisseError(err, 'partitions-record-invalid')).toBe(true)
      expect((err as Error).message).toContain(`DEL ${key}`)
      expect((err as Error).cause).toBe(cause)
    }
  })

  test('returns any other error as it is', () => {
    const other = new Error('ERR unknown command')
    expect(partitionsRecordReadError(other, key)).toBe(other)
    expect(partitionsRecordReadError('WRONGTYPE ', key)).toBe('WRONGTYPE ')
  })
})
