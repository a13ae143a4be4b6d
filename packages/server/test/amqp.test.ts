import { RedisseError } from '@redisse/protocol'
import {
  findRabbitServer,
  type RabbitProcess,
  startRabbit,
  startTcpProxy,
  waitFor,
} from '@redisse/test-utils'
import { connect } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Broker } from '../src/broker/Broker'
import { createEmbeddedBroker } from '../src/index'
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
  // A publish still in flight when the AMQP connection drops settles on a
  // closed channel: amqplib throws on ack/nack there, which inside a
  // promise callback or a timer would end the process. The message is
  // redelivered on the new connection instead (at least once).
  it.each([
    ['succeeds', 'ack'],
    ['fails for a moment (Redis away)', 'nack after 1 s'],
  ])(
    'survives the connection dropping while a publish that %s is in flight (%s)',
    async (_what, _then) => {
      const outcome = _then === 'ack' ? 'resolve' : 'reject'
      const faults: Array<unknown> = []
      const onFault = (err: unknown) => faults.push(err)
      process.on('unhandledRejection', onFault)
      process.on('uncaughtException', onFault)
      const proxy = await startTcpProxy(Number(new URL(rabbit.url).port))
      try {
        const inner = createEmbeddedBroker()
        let gate: { resolve(): void; reject(err: Error): void } | undefined
        let gated = 0
        const broker: Broker = Object.create(inner, {
          publish: {
            value: async (request: Parameters<Broker['publish']>[0]) => {
              if (request.type === 'held') gated += 1
              if (request.type === 'held' && gated === 1) {
                await new Promise<void>((resolve, reject) => {
                  gate = { resolve, reject }
                })
              }
              return inner.publish(request)
            },
          },
        })
        const queue = `redisse.test.drop.${outcome}`
        await using srv = await startServer('embedded', {
          public: true,
          broker,
          amqp: {
            url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
            exchange: 'redisse-test-drop',
            queue,
          },
        })
        await srv.server.amqpReady()
        const stream = await srv.open('/?channel=d')
        const conn = await connect(rabbit.url)
        const channel = await conn.createChannel()
        channel.publish(
          'redisse-test-drop',
          'd',
          Buffer.from(JSON.stringify({ type: 'held', data: 1 })),
          {
            messageId: `drop-${outcome}`,
          },
        )
        await waitFor(() => gate !== undefined, { what: 'the publish in flight' })
        proxy.drop()
        // The ingest saw its connection close before the publish settles.
        await new Promise((r) => setTimeout(r, 300))
        if (outcome === 'resolve') gate?.resolve()
        else gate?.reject(new RedisseError('broker-unavailable', 'Redis is away'))
        // The retried nack fires 1 s later, on the closed channel.
        await new Promise((r) => setTimeout(r, 1300))
        // Redelivered on the new connection, published (once: the message id).
        channel.publish(
          'redisse-test-drop',
          'd',
          Buffer.from(JSON.stringify({ type: 'marker', data: 2 })),
        )
        await stream.waitForEvents(2, 15_000)
        expect(stream.events.map((e) => e.event)).toEqual(['held', 'marker'])
        expect(faults).toEqual([])
        await conn.close()
      } finally {
        process.off('unhandledRejection', onFault)
        process.off('uncaughtException', onFault)
        await proxy.close()
      }
    },
    30_000,
  )
})
