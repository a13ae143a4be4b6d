import { describe, expect, test } from 'vitest'
import { isRedisseError, RedisseError } from './errors'
import {
  hashToken,
  MAX_SUBJECT_LENGTH,
  MAX_TOKEN_LENGTH,
  newToken,
  validateSubject,
  validateToken,
} from './tokens'

describe('hashToken', () => {
  test('is the SHA-256 of the UTF-8 token, lowercase hex (FIPS 180-2 vector "abc")', async () => {
    expect(await hashToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  test('hashes the empty string to the known SHA-256 vector', async () => {
    expect(await hashToken('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })

  test('hashes non-ASCII text as its UTF-8 bytes (c3 a9 for "é")', async () => {
    expect(await hashToken('é')).toBe(
      '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c',
    )
  })

  test('always gives 64 lowercase hex characters', async () => {
    expect(await hashToken(newToken())).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('newToken', () => {
  test('is 43 base64url characters (32 random bytes, no padding)', () => {
    for (let i = 0; i < 200; i++) expect(newToken()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  test('decodes back to 32 bytes', () => {
    const base64 = newToken().replaceAll('-', '+').replaceAll('_', '/')
    expect(atob(`${base64}=`)).toHaveLength(32)
  })

  test('is different on every call', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newToken()))
    expect(tokens.size).toBe(1000)
  })
})

describe('validateSubject', () => {
  test.each([
    '42',
    'user@example.com',
    '550e8400-e29b-41d4-a716-446655440000',
    '~!#$%^&*()',
    'x'.repeat(MAX_SUBJECT_LENGTH),
  ])('accepts %j and returns it', (id) => {
    expect(validateSubject(id)).toBe(id)
  })

  test.each([
    ['empty', ''],
    ['too long', 'x'.repeat(MAX_SUBJECT_LENGTH + 1)],
    ['a space', 'a b'],
    ['LF', 'a\nb'],
    ['NUL', 'a\0b'],
    ['DEL', 'a\x7f'],
    ['non-ASCII', 'é'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', {}],
    ['a symbol', Symbol('s')],
    ['an object without prototype', Object.create(null)],
  ])('rejects %s with code invalid-subject', (_what, id) => {
    let thrown: unknown
    try {
      validateSubject(id)
    } catch (err) {
      thrown = err
    }
    expect(isRedisseError(thrown, 'invalid-subject')).toBe(true)
  })

  test('error message names the type of a non-string id instead of converting it', () => {
    expect(() => validateSubject(Object.create(null))).toThrowError(/^invalid subject id object: /)
    expect(() => validateSubject(42)).toThrowError(/^invalid subject id number: /)
  })

  test('error message quotes the id and states the rule', () => {
    expect(() => validateSubject('a b')).toThrowError(
      new RedisseError(
        'invalid-subject',
        `invalid subject id "a b": use 1 to ${MAX_SUBJECT_LENGTH} printable ASCII characters without spaces`,
      ),
    )
  })
})

describe('validateToken', () => {
  test('returns a token of 1 to MAX_TOKEN_LENGTH characters as is', () => {
    expect(validateToken('abc')).toBe('abc')
    expect(validateToken('x'.repeat(MAX_TOKEN_LENGTH))).toHaveLength(MAX_TOKEN_LENGTH)
  })

  test.each([
    ['the empty string', ''],
    ['an over-long string', 'x'.repeat(MAX_TOKEN_LENGTH + 1)],
    ['a number', 42],
    ['undefined', undefined],
  ])('refuses %s with invalid-token', (_what, token) => {
    let thrown: unknown
    try {
      validateToken(token)
    } catch (err) {
      thrown = err
    }
    expect(isRedisseError(thrown, 'invalid-token')).toBe(true)
  })
})
