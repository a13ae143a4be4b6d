import { describe, expect, test } from 'vitest'
import { createKeys } from './keys'
import {
  DEFAULT_HISTORY,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  publishScriptArgs,
} from './publishScript'

// The script itself runs against a real Redis in the server's integration
// tests; here only the KEYS and ARGV it is called with.

const event = { channel: 'room:42', type: 'message', data: '{"text":"hi"}' }

describe('publishScriptArgs', () => {
  test('passes 6 keys and 8 args in the documented order, leaving history to the server config', () => {
    expect(publishScriptArgs(createKeys(), event, { epoch: 'k3x9a2bq' })).toEqual({
      keys: [
        'redisse:seq',
        'redisse:epoch',
        'redisse:h:room:42',
        'redisse:config',
        '',
        'redisse:hm:room:42',
      ],
      args: [
        'redisse:ch:room:42',
        'room:42',
        'message',
        '{"text":"hi"}',
        'k3x9a2bq',
        '',
        '',
        '86400000',
      ],
    })
  })

  test('passes history size and ttl when given', () => {
    const call = publishScriptArgs(createKeys(), event, {
      epoch: 'e',
      history: { size: 0, ttl: 60_000 },
    })
    expect(call.args.slice(5, 7)).toEqual(['0', '60000'])
  })

  test('passes the idempotency key and its ttl', () => {
    const call = publishScriptArgs(createKeys('app:'), event, {
      epoch: 'e',
      idempotencyKey: 'order-7',
      idempotencyTtl: 5000,
    })
    expect(call.keys[4]).toBe('app:idem:order-7')
    expect(call.args[7]).toBe('5000')
  })

  test('treats an empty idempotency key as none', () => {
    const call = publishScriptArgs(createKeys(), event, { epoch: 'e', idempotencyKey: '' })
    expect(call.keys[4]).toBe('')
  })

  test('builds every key under the given prefix', () => {
    const { keys, args } = publishScriptArgs(createKeys('app:'), event, { epoch: 'e' })
    expect(keys.slice(0, 4)).toEqual(['app:seq', 'app:epoch', 'app:h:room:42', 'app:config'])
    expect(args[0]).toBe('app:ch:room:42')
  })
})

describe('PUBLISH_SCRIPT', () => {
  test('inlines the default history size and ttl', () => {
    expect(PUBLISH_SCRIPT).toContain(
      `tonumber(conf[1]) or ${DEFAULT_HISTORY.size}, tonumber(conf[2]) or ${DEFAULT_HISTORY.ttl}\n`,
    )
    expect(DEFAULT_HISTORY).toEqual({ size: 1000, ttl: 3_600_000 })
  })

  test('builds the envelope with the same version tag and LF separators as formatEnvelope', () => {
    expect(PUBLISH_SCRIPT).toContain(
      "'redisse/1\\n' .. id .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ts .. '\\n' .. ARGV[4]",
    )
  })
})

test('builds exactly PUBLISH_SCRIPT_KEY_COUNT keys', () => {
  const call = publishScriptArgs(
    createKeys(),
    { channel: 'c', type: 't', data: '1' },
    { epoch: 'e' },
  )
  expect(call.keys).toHaveLength(PUBLISH_SCRIPT_KEY_COUNT)
})
