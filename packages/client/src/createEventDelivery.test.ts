import { describe, expect, it } from 'vitest'
import type { EventMeta } from './Client'
import type { DecodeError } from './ClientOptions'
import { createEventDelivery } from './createEventDelivery'
import type { StandardSchemaV1 } from './StandardSchemaV1'

const meta = (type: string, id = '1'): EventMeta => ({ id, type, channel: undefined })

/** A decoder that resolves once `release` is called, after the later events arrived. */
function slowDecoder() {
  let release = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const schema: StandardSchemaV1 = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: async (value) => {
        await gate
        return { value }
      },
    },
  }
  return { schema, release }
}

function deliver(options: Parameters<typeof createEventDelivery>[0] = {}) {
  const got: Array<[string, unknown, string | undefined]> = []
  const errors: DecodeError[] = []
  const push = createEventDelivery(
    { onDecodeError: (error) => errors.push(error), ...options },
    (type, data, m) => got.push([type, data, m.id]),
  )
  return { push, got, errors }
}

describe('createEventDelivery', () => {
  it('decodes JSON, or hands the text with json: false, or the value the transport decoded', () => {
    const json = deliver()
    json.push(meta('a'), '{"n":1}')
    json.push(meta('a'), 'unused', { value: 'decoded' })
    const text = deliver({ json: false })
    text.push(meta('a'), '{"n":1}')
    expect(json.got).toEqual([
      ['a', { n: 1 }, '1'],
      ['a', 'decoded', '1'],
    ])
    expect(text.got).toEqual([['a', '{"n":1}', '1']])
  })

  it('reports data that is not JSON, and delivers the next event', () => {
    const { push, got, errors } = deliver()
    push(meta('a', '1'), '{oops')
    push(meta('a', '2'), '2')
    expect(errors.map((e) => [e.code, e.data, e.meta.id])).toEqual([['invalid-json', '{oops', '1']])
    expect(got).toEqual([['a', 2, '2']])
  })

  it('keeps publish order behind an async decoder', async () => {
    const slow = slowDecoder()
    const { push, got } = deliver({ decoders: { slow: slow.schema } })
    push(meta('slow', '1'), '1')
    push(meta('fast', '2'), '2')
    push(meta('fast', '3'), '3')
    await Promise.resolve()
    expect(got).toEqual([])
    slow.release()
    await new Promise((resolve) => setTimeout(resolve))
    expect(got.map(([, , id]) => id)).toEqual(['1', '2', '3'])
  })

  it('looks decoders up by own property only, so `constructor` is an ordinary type', () => {
    const { push, got, errors } = deliver({ decoders: {} })
    push(meta('constructor'), '{"x":1}')
    push(meta('__proto__'), '{"y":2}')
    expect(errors).toEqual([])
    expect(got).toEqual([
      ['constructor', { x: 1 }, '1'],
      ['__proto__', { y: 2 }, '1'],
    ])
  })

  it("reports a decoder's issues and a rejecting decoder as invalid-data", async () => {
    const refuse: StandardSchemaV1 = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => ({ issues: [{ message: 'no' }] }),
      },
    }
    const reject: StandardSchemaV1 = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => Promise.reject(new Error('boom')),
      },
    }
    const { push, got, errors } = deliver({ decoders: { refuse, reject } })
    push(meta('refuse'), '1')
    push(meta('reject'), '2')
    await new Promise((resolve) => setTimeout(resolve))
    expect(errors.map((e) => [e.code, e.issues?.[0]?.message, String(e.error)])).toEqual([
      ['invalid-data', 'no', 'undefined'],
      ['invalid-data', undefined, 'Error: boom'],
    ])
    expect(got).toEqual([])
  })
})
