import { isRedisseError } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { prepareEvent } from './prepareEvent'

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return isRedisseError(err) ? err.code : `not a RedisseError: ${String(err)}`
  }
  return undefined
}

describe('prepareEvent', () => {
  it('returns the names and the payload as JSON text', () => {
    expect(
      prepareEvent({ channel: 'room:1', type: 'message', data: { text: 'a\nb' } }, 100),
    ).toEqual({
      channel: 'room:1',
      type: 'message',
      json: '{"text":"a\\nb"}',
      idempotencyKey: undefined,
    })
    expect(
      prepareEvent({ channel: 'c', type: 't', data: null, idempotencyKey: 'order-7' }, 100),
    ).toMatchObject({ json: 'null', idempotencyKey: 'order-7' })
  })

  it.each([
    ['a channel with a space', { channel: 'room 1', type: 't', data: 1 }, 'invalid-channel'],
    ['a glob channel', { channel: 'room:*', type: 't', data: 1 }, 'invalid-channel'],
    ['an empty channel', { channel: '', type: 't', data: 1 }, 'invalid-channel'],
    ['a channel that is not a string', { channel: 42, type: 't', data: 1 }, 'invalid-channel'],
    ['a type with LF', { channel: 'c', type: 'a\nb', data: 1 }, 'invalid-event-type'],
    ['a type with CR', { channel: 'c', type: 'a\rb', data: 1 }, 'invalid-event-type'],
    ['a reserved type', { channel: 'c', type: 'redisse:reset', data: 1 }, 'reserved-event-type'],
    ['an undefined payload', { channel: 'c', type: 't', data: undefined }, 'invalid-payload'],
    ['a BigInt payload', { channel: 'c', type: 't', data: 1n }, 'invalid-payload'],
    [
      'a payload over the limit',
      { channel: 'c', type: 't', data: 'x'.repeat(99) },
      'payload-too-large',
    ],
    [
      'an idempotency key with a space',
      { channel: 'c', type: 't', data: 1, idempotencyKey: 'a b' },
      'invalid-idempotency-key',
    ],
    [
      'an empty idempotency key',
      { channel: 'c', type: 't', data: 1, idempotencyKey: '' },
      'invalid-idempotency-key',
    ],
    [
      'an idempotency key of 201 characters',
      { channel: 'c', type: 't', data: 1, idempotencyKey: 'k'.repeat(201) },
      'invalid-idempotency-key',
    ],
  ])('rejects %s', (_name, event, code) => {
    expect(codeOf(() => prepareEvent(event, 100))).toBe(code)
  })

  it('counts the payload limit in UTF-8 bytes', () => {
    expect(prepareEvent({ channel: 'c', type: 't', data: 'é'.repeat(4) }, 10).json).toBe('"éééé"')
    expect(codeOf(() => prepareEvent({ channel: 'c', type: 't', data: 'é'.repeat(5) }, 10))).toBe(
      'payload-too-large',
    )
  })
})
