import { describe, expect, test } from 'vitest'
import { type ErrorCode, ErrorCodes, isRedisseError, RedisseError } from './errors'

describe('RedisseError', () => {
  test('carries name, code, message and the status of its code', () => {
    const err = new RedisseError('invalid-channel', 'bad channel')
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('RedisseError')
    expect(err.code).toBe('invalid-channel')
    expect(err.message).toBe('bad channel')
    expect(err.status).toBe(400)
    expect(err.cause).toBeUndefined()
    expect('cause' in err).toBe(false)
  })

  test.each(Object.entries(ErrorCodes) as [ErrorCode, number][])(
    'maps %s to HTTP %i',
    (code, status) => {
      expect(new RedisseError(code, 'x').status).toBe(status)
    },
  )

  test('maps the codes that have their own status as documented', () => {
    expect(ErrorCodes).toMatchObject({
      unauthorized: 401,
      forbidden: 403,
      'not-found': 404,
      'method-not-allowed': 405,
      'not-acceptable': 406,
      'payload-too-large': 413,
      'publish-failed': 502,
      'too-many-connections': 503,
      'broker-unavailable': 503,
      internal: 500,
    })
  })

  test('uses only kebab-case codes', () => {
    for (const code of Object.keys(ErrorCodes)) expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/)
  })

  test('lets the caller override the status', () => {
    expect(new RedisseError('internal', 'x', { status: 504 }).status).toBe(504)
  })

  test('keeps the cause', () => {
    const cause = new Error('ECONNREFUSED')
    expect(new RedisseError('broker-unavailable', 'down', { cause }).cause).toBe(cause)
  })

  test('serialises to the HTTP body { error: { code, message } }, without status or stack', () => {
    const err = new RedisseError('payload-too-large', 'too big', { cause: new Error('x') })
    expect(err.toJSON()).toEqual({ error: { code: 'payload-too-large', message: 'too big' } })
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      error: { code: 'payload-too-large', message: 'too big' },
    })
  })
})

describe('isRedisseError', () => {
  test('is true for a RedisseError, and for one of the given code', () => {
    const err = new RedisseError('forbidden', 'no')
    expect(isRedisseError(err)).toBe(true)
    expect(isRedisseError(err, 'forbidden')).toBe(true)
  })

  test('is false for a RedisseError of another code', () => {
    expect(isRedisseError(new RedisseError('forbidden', 'no'), 'unauthorized')).toBe(false)
  })

  test('recognises an error from another copy of the package by its name', () => {
    class OtherCopyError extends Error {
      override readonly name = 'RedisseError'
      readonly code = 'closed'
    }
    expect(isRedisseError(new OtherCopyError('closed'), 'closed')).toBe(true)
  })

  test.each([
    ['a plain Error', new Error('x')],
    ['a TypeError', new TypeError('x')],
    ['a look-alike plain object', { name: 'RedisseError', code: 'closed', message: 'x' }],
    ['null', null],
    ['a string', 'RedisseError'],
  ])('is false for %s', (_what, value) => {
    expect(isRedisseError(value)).toBe(false)
  })
})
