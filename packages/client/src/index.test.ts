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
  const { createClient: _byName, ...clientRest } = client
  const { createClient: _core, ...coreRest } = core
  expect(clientRest).toEqual(coreRest)
  for (const [name, value] of Object.entries(coreRest)) {
    expect(Object.entries(clientRest).find(([n]) => n === name)?.[1]).toBe(value)
  }
})
