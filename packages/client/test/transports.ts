import { EventSource } from 'eventsource'
import type { ClientOptions } from '../src/index'

/** Every built-in transport, with what each can observe, for suites parametrised over them. */
export const TRANSPORTS = [
  {
    name: 'eventsource',
    options: { transport: 'eventsource', EventSource } satisfies ClientOptions,
    parsesStream: true,
    exactIdBuffer: false,
    seesRetryField: false,
    seesHeaders: false,
  },
  {
    name: 'fetch',
    options: { transport: 'fetch' } satisfies ClientOptions,
    parsesStream: true,
    exactIdBuffer: true,
    seesRetryField: true,
    seesHeaders: true,
  },
  {
    name: 'poll',
    options: { transport: 'poll' } satisfies ClientOptions,
    parsesStream: false,
    exactIdBuffer: true,
    seesRetryField: false,
    seesHeaders: true,
  },
] as const
