import { describe, expectTypeOf, it } from 'vitest'
import { createPublisher } from './createPublisher'

type Events = { message: { user: string; text: string }; typing: { user: string } }

describe('publisher types', () => {
  it('checks event types and payloads against the Events map', () => {
    const pub = createPublisher<Events>({ redis: 'redis://127.0.0.1:1' })
    expectTypeOf(pub.publish('room', 'message', { user: 'a', text: 'b' })).toEqualTypeOf<
      Promise<string>
    >()
    // @ts-expect-error unknown event type
    void pub.publish('room', 'nope', { user: 'a' })
    // @ts-expect-error payload of another type
    void pub.publish('room', 'typing', { user: 'a', text: 'b' })
    // @ts-expect-error missing field
    void pub.publish('room', 'message', { user: 'a' })
    expectTypeOf(pub.publishMany).parameter(0).toEqualTypeOf<
      ReadonlyArray<{
        channel: string
        type: 'message' | 'typing'
        data: Events['message'] | Events['typing']
        idempotencyKey?: string
      }>
    >()
  })

  it('accepts any type and payload without an Events map', () => {
    const pub = createPublisher({ url: 'http://localhost:4242', key: 'k' })
    expectTypeOf(pub.publish('room', 'anything', { any: 1 })).toEqualTypeOf<Promise<string>>()
  })
})
