import { describe, expectTypeOf, test } from 'vitest'
import {
  defineEvents,
  type EventMap,
  type ReservedEvent,
  ReservedEvents,
  type ResetEventData,
} from './events'

type ChatEvents = { message: { user: string; text: string }; typing: { user: string } }

describe('defineEvents', () => {
  test('returns exactly the event map it was given', () => {
    const events = defineEvents<ChatEvents>()
    expectTypeOf(events).toEqualTypeOf<ChatEvents>()
    expectTypeOf(events.message).toEqualTypeOf<{ user: string; text: string }>()
  })

  test('accepts payloads of any type, including primitives, null and arrays', () => {
    type Events = { count: number; nothing: null; list: string[] }
    expectTypeOf(defineEvents<Events>()).toEqualTypeOf<Events>()
  })

  test('requires a type argument that is an object map', () => {
    // @ts-expect-error a string is not an event map
    defineEvents<string>()
    // @ts-expect-error an array is not an event map
    defineEvents<number[]>()
  })
})

describe('EventMap', () => {
  test('maps event type names to payload types', () => {
    expectTypeOf<EventMap>().toEqualTypeOf<Record<string, unknown>>()
    expectTypeOf<ChatEvents>().toExtend<EventMap>()
  })

  test('lets generic code derive the payload of one event type', () => {
    type PayloadOf<E extends EventMap, K extends keyof E> = E[K]
    expectTypeOf<PayloadOf<ChatEvents, 'typing'>>().toEqualTypeOf<{ user: string }>()
    expectTypeOf<keyof ChatEvents>().toEqualTypeOf<'message' | 'typing'>()
  })
})

describe('ReservedEvents', () => {
  test('are literal types under the redisse: prefix', () => {
    expectTypeOf(ReservedEvents.reset).toEqualTypeOf<'redisse:reset'>()
    expectTypeOf<ReservedEvent>().toEqualTypeOf<'redisse:reset' | 'redisse:ready'>()
    expectTypeOf<ReservedEvent>().toExtend<`redisse:${string}`>()
  })

  test('reset carries the channels and a reason', () => {
    expectTypeOf<ResetEventData>().toEqualTypeOf<{
      channels: string[]
      reason: 'history-gap' | 'epoch-changed' | 'invalid-cursor'
    }>()
  })
})
