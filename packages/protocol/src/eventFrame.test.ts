import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { Envelope } from './envelope'
import { RedisseError } from './errors'
import {
  encodeEnvelopeFrame,
  encodeEventFrame,
  encodePollResponse,
  isEventFrame,
  parseEventFrame,
} from './eventFrame'

const sample: Envelope = {
  id: 'k3x9a2bq-42',
  channel: 'room:42',
  type: 'message',
  ts: 1_700_000_000_000,
  data: '{"user":"ann","text":"line 1\\nline 2"}',
}

describe('encodeEnvelopeFrame', () => {
  test('writes id with channel, type, channel and the data JSON spliced in, in that order', () => {
    expect(encodeEnvelopeFrame(sample)).toBe(
      '{"id":"k3x9a2bq-42@room:42","type":"message","channel":"room:42","data":{"user":"ann","text":"line 1\\nline 2"}}',
    )
  })

  test('puts the channel in type with channelAsEvent, as the SSE frame does', () => {
    expect(JSON.parse(encodeEnvelopeFrame(sample, { channelAsEvent: true })).type).toBe('room:42')
  })

  test('round-trips any JSON payload through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const data = JSON.stringify(value)
        const frame = JSON.parse(encodeEnvelopeFrame({ ...sample, data }))
        expect(frame.data).toEqual(JSON.parse(data))
        expect(isEventFrame(frame)).toBe(true)
      }),
    )
  })
})

describe('encodeEventFrame and parseEventFrame', () => {
  test('encode omits absent id and channel and parse gives the frame back', () => {
    const text = encodeEventFrame({ type: 'redisse:reset', data: { channels: ['a'] } })
    expect(text).toBe('{"type":"redisse:reset","data":{"channels":["a"]}}')
    expect(parseEventFrame(text)).toEqual({ type: 'redisse:reset', data: { channels: ['a'] } })
  })

  test('encode refuses a type with a line break', () => {
    expect(() => encodeEventFrame({ type: 'a\nb', data: 1 })).toThrow(RedisseError)
  })

  test.each([
    ['not json', '{'],
    ['an array', '[]'],
    ['no data', '{"type":"t"}'],
    ['no type', '{"data":1}'],
    ['a number id', '{"id":1,"type":"t","data":1}'],
    ['a bad channel', '{"type":"t","channel":"a b","data":1}'],
  ])('parse rejects %s with invalid-frame', (_, text) => {
    expect(() => parseEventFrame(text)).toThrow(expect.objectContaining({ code: 'invalid-frame' }))
  })
})

test('encodePollResponse joins encoded frames without parsing them', () => {
  const frames = [encodeEnvelopeFrame(sample), encodeEventFrame({ type: 'x', data: null })]
  const body = JSON.parse(encodePollResponse(frames, 'k3x9a2bq-42@room:42'))
  expect(body).toEqual({
    events: [JSON.parse(frames[0] ?? ''), { type: 'x', data: null }],
    lastEventId: 'k3x9a2bq-42@room:42',
  })
  expect(encodePollResponse([], null)).toBe('{"events":[],"lastEventId":null}')
})
