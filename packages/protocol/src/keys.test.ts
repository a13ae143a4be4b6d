import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createKeys, DEFAULT_PREFIX, type RedisKeys, subjectTag } from './keys'
import { MAX_CHANNEL_LENGTH } from './names'
import { clusterSlot } from './partitions'

const channel = fc.string({
  unit: fc.constantFrom(...'ABCXYZabcxyz0189_-.:@/=+'),
  minLength: 1,
  maxLength: MAX_CHANNEL_LENGTH,
})

/** Printable ASCII without spaces, as `validateSubject` allows; also covers token hashes. */
const subject = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 60,
})

const prefix = fc.oneof(
  fc.constant(DEFAULT_PREFIX),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((p) => `${p}:`),
)

/** Every key a channel name may never produce, for a given other-kind argument. */
function otherKinds(keys: RedisKeys, arg: string): string[] {
  return [
    keys.seq,
    keys.epoch,
    keys.config,
    keys.control,
    keys.token(arg),
    keys.subjectChannels(arg),
    keys.subjectTokens(arg),
    keys.subjectGranted(arg),
    keys.idempotency(arg),
    keys.probe(arg),
  ]
}

describe('createKeys', () => {
  test('builds every name under the default prefix redisse:', () => {
    const keys = createKeys()
    expect(keys.prefix).toBe('redisse:')
    expect(DEFAULT_PREFIX).toBe('redisse:')
    expect({
      seq: keys.seq,
      epoch: keys.epoch,
      config: keys.config,
      control: keys.control,
      pubsub: keys.pubsub('room:42'),
      history: keys.history('room:42'),
      token: keys.token('ba7816bf'),
      subjectChannels: keys.subjectChannels('42'),
      subjectTokens: keys.subjectTokens('42'),
      subjectGranted: keys.subjectGranted('42'),
      idempotency: keys.idempotency('order-7'),
      probe: keys.probe('n1'),
    }).toEqual({
      seq: 'redisse:seq',
      epoch: 'redisse:epoch',
      config: 'redisse:config',
      control: 'redisse:control',
      pubsub: 'redisse:ch:room:42',
      history: 'redisse:h:room:42',
      token: 'redisse:token:ba7816bf',
      subjectChannels: 'redisse:subject-channels:42',
      subjectTokens: 'redisse:subject-tokens:42',
      subjectGranted: 'redisse:subject-granted:42',
      idempotency: 'redisse:idem:order-7',
      probe: 'redisse:probe:n1',
    })
  })

  test('builds every name under a custom prefix', () => {
    const keys = createKeys('app1:rt:')
    expect(keys.prefix).toBe('app1:rt:')
    expect([
      keys.seq,
      keys.epoch,
      keys.config,
      keys.control,
      keys.pubsub('a'),
      keys.history('a'),
      keys.token('h'),
      keys.subjectChannels('s'),
      keys.subjectTokens('s'),
      keys.idempotency('k'),
      keys.probe('n'),
    ]).toEqual([
      'app1:rt:seq',
      'app1:rt:epoch',
      'app1:rt:config',
      'app1:rt:control',
      'app1:rt:ch:a',
      'app1:rt:h:a',
      'app1:rt:token:h',
      'app1:rt:subject-channels:s',
      'app1:rt:subject-tokens:s',
      'app1:rt:idem:k',
      'app1:rt:probe:n',
    ])
  })

  test('uses the prefix as given, adding no separator', () => {
    expect(createKeys('x').seq).toBe('xseq')
  })

  test('a channel name never produces a key of another kind (token, subject, config…)', () => {
    fc.assert(
      fc.property(prefix, channel, subject, (prefix, name, other) => {
        const keys = createKeys(prefix)
        const forbidden = otherKinds(keys, other)
        for (const key of [keys.pubsub(name), keys.history(name)]) {
          expect(forbidden).not.toContain(key)
          for (const segment of ['token:', 'subject-channels:', 'subject-tokens:', 'idem:']) {
            expect(key.startsWith(`${prefix}${segment}`)).toBe(false)
          }
        }
      }),
    )
  })

  test('the pub/sub channel and the history key of two channels never collide', () => {
    fc.assert(
      fc.property(channel, channel, (a, b) => {
        const keys = createKeys()
        expect(keys.pubsub(a)).not.toBe(keys.history(b))
        expect(keys.pubsub(a) === keys.pubsub(b)).toBe(a === b)
        expect(keys.history(a) === keys.history(b)).toBe(a === b)
      }),
    )
  })
})

describe('createKeys with { cluster: true }', () => {
  test('puts the subject keys of 42 behind the tag s.<FNV-1a hex>, first in the name', () => {
    const keys = createKeys('redisse:', { cluster: true })
    expect(subjectTag('42')).toBe('s.87e38583')
    expect([
      keys.subjectChannels('42'),
      keys.subjectTokens('42'),
      keys.subjectGranted('42'),
    ]).toEqual([
      'redisse:{s.87e38583}:subject-channels:42',
      'redisse:{s.87e38583}:subject-tokens:42',
      'redisse:{s.87e38583}:subject-granted:42',
    ])
  })

  test('keeps every other name as createKeys(prefix) builds it', () => {
    fc.assert(
      fc.property(channel, subject, (name, other) => {
        const plain = createKeys('app:')
        const cluster = createKeys('app:', { cluster: true })
        for (const kind of ['prefix', 'seq', 'epoch', 'config', 'control'] as const) {
          expect(cluster[kind]).toBe(plain[kind])
        }
        for (const kind of ['pubsub', 'history', 'historyMeta'] as const) {
          expect(cluster[kind](name)).toBe(plain[kind](name))
        }
        for (const kind of ['token', 'idempotency', 'probe'] as const) {
          expect(cluster[kind](other)).toBe(plain[kind](other))
        }
      }),
    )
  })

  test('gives every key of one subject the same cluster slot, braces in the id included', () => {
    fc.assert(
      fc.property(subject, (id) => {
        const keys = createKeys(DEFAULT_PREFIX, { cluster: true })
        const slot = clusterSlot(keys.subjectChannels(id))
        expect(clusterSlot(keys.subjectTokens(id))).toBe(slot)
        expect(clusterSlot(keys.subjectGranted(id))).toBe(slot)
        expect(slot).toBe(clusterSlot(`{${subjectTag(id)}}`))
      }),
    )
    const keys = createKeys(DEFAULT_PREFIX, { cluster: true })
    for (const id of ['{a}', '}{', 'x{y}z', '{}']) {
      expect(clusterSlot(keys.subjectTokens(id))).toBe(clusterSlot(keys.subjectChannels(id)))
    }
  })

  test('keeps the subject keys of two subjects apart', () => {
    fc.assert(
      fc.property(subject, subject, (a, b) => {
        const keys = createKeys(DEFAULT_PREFIX, { cluster: true })
        expect(keys.subjectChannels(a) === keys.subjectChannels(b)).toBe(a === b)
        expect(keys.subjectChannels(a)).not.toBe(keys.subjectTokens(b))
      }),
    )
  })

  test('leaves createKeys(prefix) and { cluster: false } unchanged', () => {
    expect(createKeys('app:', { cluster: false }).subjectChannels('42')).toBe(
      'app:subject-channels:42',
    )
    expect(createKeys('app:').subjectGranted('{x}')).toBe('app:subject-granted:{x}')
  })

  test('refuses a cluster prefix with braces, which would move the hash tags', () => {
    expect(() => createKeys('app{1}:', { cluster: true })).toThrowError(
      expect.objectContaining({ code: 'invalid-option' }),
    )
    expect(createKeys('app{1}:').seq).toBe('app{1}:seq')
  })
})
