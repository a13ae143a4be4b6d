import { expect, test } from 'vitest'
import * as core from './core'
import * as client from './index'

const CORE = [
  'createClient',
  'createPollTransport',
  'createSharedClient',
  'defineEvents',
  'eventSourceTransport',
  'fetchTransport',
  'isRedisseError',
  'pollTransport',
  'websocketTransport',
]

test('@redisse/client/core exports exactly the documented runtime API', () => {
  expect(Object.keys(core).sort()).toEqual(CORE)
})

test('@redisse/client exports the same names, createClient taking transports by name', async () => {
  expect(Object.keys(client).sort()).toEqual(CORE)
  const { createClient } = await import('./createClient')
  const { createBaseClient } = await import('./createBaseClient')
  expect(client.createClient).toBe(createClient)
  expect(core.createClient).toBe(createBaseClient)
  for (const name of CORE.filter((n) => n !== 'createClient')) {
    expect(client[name as keyof typeof client]).toBe(core[name as keyof typeof core])
  }
})
