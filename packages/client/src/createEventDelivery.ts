import type { EventMeta } from './Client'
import type { BaseClientOptions, DecodeError } from './ClientOptions'
import type { StandardSchemaV1 } from './StandardSchemaV1'
import { safely } from './safely'

/** Hands one event (its meta, data text, or a value the transport decoded) to the decoding chain. */
export type DeliverEvent = (meta: EventMeta, text: string, value?: { value: unknown }) => void

/**
 * Creates the decoding of events into listener calls: JSON (unless option
 * `json` is `false`), then the event type's Standard Schema decoder if any;
 * what fails goes to `onDecodeError`, never to `emit`. Async decoders do not
 * reorder events: later events wait their turn.
 * @param emit - calls the listeners of an event type
 */
export function createEventDelivery(
  options: Pick<BaseClientOptions, 'json' | 'decoders' | 'onDecodeError'>,
  emit: (type: string, data: unknown, meta: EventMeta) => void,
): DeliverEvent {
  let queue: Promise<void> | undefined
  const decodeError = (error: DecodeError) => safely(options.onDecodeError, error)

  const deliver = (
    meta: EventMeta,
    text: string,
    value: { value: unknown } | undefined,
  ): Promise<void> | undefined => {
    let data: unknown = text
    if (value) data = value.value
    else if (options.json !== false) {
      try {
        data = JSON.parse(text)
      } catch (error) {
        decodeError({ code: 'invalid-json', meta, data: text, error })
        return
      }
    }
    // Own properties only: an event type such as `constructor` or
    // `__proto__` must not find Object.prototype's members.
    const decoders = options.decoders as Record<string, StandardSchemaV1> | undefined
    const schema = decoders && Object.hasOwn(decoders, meta.type) ? decoders[meta.type] : undefined
    if (!schema) {
      emit(meta.type, data, meta)
      return
    }
    const settle = (result: StandardSchemaV1.Result<unknown>) => {
      if (result.issues) {
        decodeError({ code: 'invalid-data', meta, data: text, issues: result.issues })
      } else emit(meta.type, result.value, meta)
    }
    const result = schema['~standard'].validate(data)
    if (!(result instanceof Promise)) {
      settle(result)
      return
    }
    return result.then(settle, (error: unknown) =>
      decodeError({ code: 'invalid-data', meta, data: text, error }),
    )
  }

  // After the first async decoder, delivery stays chained (a microtask
  // later) rather than tracking when the chain drains.
  return (meta, text, value) => {
    queue = queue ? queue.then(() => deliver(meta, text, value)) : deliver(meta, text, value)
  }
}
