import { describe, expect, test } from 'vitest'
import { createKeys } from './keys'
import {
  DEFAULT_HISTORY,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  parseScriptError,
  publishScriptArgs,
  SCRIPT_ERROR_PREFIX,
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
        'redisse:seq',
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
    expect(call.keys[4]).toBe('redisse:seq')
  })

  test('passes the seq key again, never an empty name, when there is no idempotency key (ACL key patterns)', () => {
    const call = publishScriptArgs(createKeys('app:'), event, { epoch: 'e' })
    expect(call.keys[4]).toBe(call.keys[0])
    for (const key of call.keys) expect(key.startsWith('app:')).toBe(true)
  })

  test('adds SPUBLISH and the partition count as ARGV 9 and 10 only when asked', () => {
    const plain = publishScriptArgs(createKeys(), event, { epoch: 'e' })
    expect(plain.args).toHaveLength(8)
    const sharded = publishScriptArgs(createKeys('app:{p3.0}:'), event, {
      epoch: 'e',
      sharded: true,
      partitions: 16,
    })
    expect(sharded.args.slice(8)).toEqual(['SPUBLISH', '16'])
    expect(sharded.args[0]).toBe('app:{p3.0}:ch:room:42')
    expect(
      publishScriptArgs(createKeys(), event, { epoch: 'e', sharded: true }).args.slice(8),
    ).toEqual(['SPUBLISH', ''])
    expect(
      publishScriptArgs(createKeys(), event, { epoch: 'e', partitions: 4 }).args.slice(8),
    ).toEqual(['PUBLISH', '4'])
  })

  test('builds every key under the given prefix', () => {
    const { keys, args } = publishScriptArgs(createKeys('app:'), event, { epoch: 'e' })
    expect(keys.slice(0, 4)).toEqual(['app:seq', 'app:epoch', 'app:h:room:42', 'app:config'])
    expect(args[0]).toBe('app:ch:room:42')
  })
})

describe('PUBLISH_SCRIPT', () => {
  test('checks channel and type before anything else, with typed error replies', () => {
    const guard = PUBLISH_SCRIPT.slice(0, PUBLISH_SCRIPT.indexOf("redis.call('GET'"))
    for (const code of ['invalid-channel', 'invalid-event-type', 'reserved-event-type']) {
      expect(guard).toContain(`redis.error_reply('${SCRIPT_ERROR_PREFIX} ${code}: `)
    }
  })

  test('runs the idempotency steps only for a key that is neither empty nor KEYS[1]', () => {
    expect(PUBLISH_SCRIPT).toContain("local idem = KEYS[5] ~= '' and KEYS[5] ~= KEYS[1]")
    expect(PUBLISH_SCRIPT).not.toContain("if KEYS[5] ~= '' then")
  })

  test('SPUBLISHes only when ARGV 9 says SPUBLISH, so callers passing 8 arguments keep PUBLISH', () => {
    expect(PUBLISH_SCRIPT).toContain(
      "redis.call(ARGV[9] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH', ARGV[1], envelope)",
    )
  })

  test('checks the partition count before touching the log, only when one is passed', () => {
    const check = PUBLISH_SCRIPT.indexOf("redis.call('HGET', KEYS[4], 'partitions')")
    expect(check).toBeGreaterThan(0)
    expect(check).toBeLessThan(PUBLISH_SCRIPT.indexOf("redis.call('GET', KEYS[5])"))
    expect(PUBLISH_SCRIPT).toContain("if ARGV[10] and ARGV[10] ~= '' then")
    expect(PUBLISH_SCRIPT).toContain(`'${SCRIPT_ERROR_PREFIX} partitions-mismatch: `)
  })

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

describe('parseScriptError', () => {
  test.each([
    ['invalid-channel', 'REDISSE invalid-channel: use 1 to 200 characters'],
    ['invalid-event-type', 'REDISSE invalid-event-type: no control characters'],
    [
      'reserved-event-type',
      'ERR REDISSE reserved-event-type: the prefix redisse: belongs to Redisse',
    ],
    [
      'partitions-mismatch',
      'REDISSE partitions-mismatch: the servers split the log in 16 partitions and this publisher in 8: set the publisher option redis.partitions to 16',
    ],
  ] as const)('reads the code %s', (code, message) => {
    expect(parseScriptError(message)?.code).toBe(code)
  })

  test('keeps the reason', () => {
    expect(parseScriptError('REDISSE invalid-channel: use 1 to 200 characters')).toEqual({
      code: 'invalid-channel',
      reason: 'use 1 to 200 characters',
    })
  })

  test.each([
    'NOPERM this user has no permissions to access one of the keys used as arguments',
    'ERR Error running script',
    'REDISSE internal: not a code the script sends',
    'REDISSEinvalid-channel: x',
  ])('returns undefined for %j', (message) => {
    expect(parseScriptError(message)).toBeUndefined()
  })
})
