import { uniquePrefix, waitFor } from '@redisse/test-utils'
import { expect, it } from 'vitest'
import { startServer } from './harness'

it('delivers on two server nodes sharing one Redis, whichever node the publish went through', async () => {
  const prefix = uniquePrefix('two')
  await using a = await startServer('redis', { channels: () => ['shared'] }, { prefix })
  await using b = await startServer('redis', { channels: () => ['shared'] }, { prefix })
  const onA = await a.open()
  const onB = await b.open()
  const first = await a.publish('shared', 'm', 1)
  const second = await b.publish('shared', 'm', 2)
  for (const stream of [onA, onB]) {
    const events = await stream.waitForEvents(2)
    expect(events.map((e) => [e.id, e.data])).toEqual([
      [first, '1'],
      [second, '2'],
    ])
  }
})

it('applies a subject edit made through one node to streams on the other', async () => {
  const prefix = uniquePrefix('two-tokens')
  await using a = await startServer('redis', { tokens: true }, { prefix })
  await using b = await startServer('redis', { tokens: true }, { prefix })
  const token = await a.server.broker.subjects.generateToken('sam')
  await a.server.broker.subjects.addChannel('sam', 'inbox:sam')
  const stream = await b.open(`/?access_token=${token}`)
  await a.server.broker.subjects.addChannel('sam', 'team:1')
  await waitFor(() => b.server.stats().channels['team:1'] === 1, { what: 'team:1 on node b' })
  await a.publish('team:1', 'm', 'hello team')
  expect((await stream.waitForEvents(1))[0]?.data).toBe('"hello team"')
  await a.server.broker.subjects.clear('sam')
  await stream.ended
})
