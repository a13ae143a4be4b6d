import { findRabbitServer, type RabbitProcess, startRabbit, waitFor } from '@redisse/test-utils'
import { connect } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from './harness'

const rabbitBin = findRabbitServer()
if (!rabbitBin && process.env.CI) {
  throw new Error(
    'CI must provide rabbitmq-server (.ci/run installs it): the AMQP tests cannot be skipped there',
  )
}
if (!rabbitBin) {
  console.warn(
    'AMQP ingest tests skipped: no rabbitmq-server binary (apt-get install rabbitmq-server)',
  )
}

describe.skipIf(!rabbitBin)('AMQP ingest against a real RabbitMQ', () => {
  let rabbit: RabbitProcess
  beforeAll(async () => {
    rabbit = await startRabbit()
  }, 90_000)
  afterAll(async () => {
    await rabbit?.stop()
  })

  it('publishes consumed messages on the bus in order, acks them, and rejects invalid ones', async () => {
    await using srv = await startServer('redis', {
      public: true,
      amqp: { url: rabbit.url, exchange: 'redisse-test', queue: 'redisse.test.ingest' },
    })
    await srv.server.amqpReady()
    const stream = await srv.open('/?channel=orders&channel=audit')

    const conn = await connect(rabbit.url)
    const channel = await conn.createChannel()
    const send = (key: string, body: string, messageId?: string) =>
      channel.publish('redisse-test', key, Buffer.from(body), {
        contentType: 'application/json',
        ...(messageId ? { messageId } : {}),
      })
    send('orders', JSON.stringify({ type: 'created', data: { id: 1 } }), 'm-1')
    send('orders', '{not json')
    send('orders', JSON.stringify({ type: 'created', data: { id: 1 } }), 'm-1') // redelivered duplicate
    send('audit', JSON.stringify({ channel: 'audit', type: 'logged', data: 'x' }))
    send('orders', JSON.stringify({ type: 'redisse:reset', data: null }))

    const events = await stream.waitForEvents(2)
    await waitFor(() => srv.server.stats().amqp?.rejected === 2, { what: 'two rejected' })
    await waitFor(() => srv.server.stats().amqp?.consumed === 3, { what: 'three consumed' })
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['created', '{"id":1}'],
      ['logged', '"x"'],
    ])
    expect(events[0]?.id).toMatch(/@orders$/)
    expect(events[1]?.id).toMatch(/@audit$/)
    await new Promise((r) => setTimeout(r, 100))
    expect(stream.events).toHaveLength(2) // the duplicate message id published once
    const queue = await channel.checkQueue('redisse.test.ingest')
    expect(queue.messageCount).toBe(0)
    await conn.close()
  })

  // Issue 15: whoever may publish under one routing key (an AMQP permission,
  // often granted by topic) could name any channel in the body.
  it.each([
    ['rejects a body naming another channel than its routing key by default', false],
    ['takes the channel from the body with amqp.channelFromBody', true],
  ])('%s', async (_what, channelFromBody) => {
    const queue = `redisse.test.channel-from-body.${channelFromBody}`
    await using srv = await startServer('redis', {
      public: true,
      amqp: { url: rabbit.url, exchange: 'redisse-test-cfb', queue, channelFromBody },
    })
    await srv.server.amqpReady()
    const stream = await srv.open('/?channel=public&channel=private')
    const conn = await connect(rabbit.url)
    const channel = await conn.createChannel()
    const send = (key: string, body: unknown) =>
      channel.publish('redisse-test-cfb', key, Buffer.from(JSON.stringify(body)))
    send('public', { channel: 'private', type: 'forged', data: 1 })
    send('public', { channel: 'public', type: 'same', data: 2 })
    send('public', { type: 'marker', data: 3 })
    const events = await stream.waitForEvents(channelFromBody ? 3 : 2)
    await waitFor(() => srv.server.stats().amqp?.consumed === (channelFromBody ? 3 : 2), {
      what: 'consumed',
    })
    expect(srv.server.stats().amqp?.rejected).toBe(channelFromBody ? 0 : 1)
    expect(events.map((e) => [e.event, e.id?.split('@')[1]])).toEqual([
      ...(channelFromBody ? [['forged', 'private']] : []),
      ['same', 'public'],
      ['marker', 'public'],
    ])
    await conn.close()
  })
})
