import { isRedisseError, RedisseError } from '@redisse/protocol'
import type { PublishRequest } from './broker/Broker'
import type { Logger } from './createLogger'
import { loadAmqplib } from './loadAmqplib'

/** AMQP ingest settings (cyclone-sse's third broker). */
export interface AmqpOptions {
  /** `amqp://user:pass@host:5672/vhost`. */
  url: string
  /** Topic exchange publishers send to. @defaultValue 'redisse' */
  exchange?: string
  /** Durable queue shared by every node, so each message is published once. @defaultValue 'redisse.ingest' */
  queue?: string
  /** Routing-key patterns bound to the queue. @defaultValue ['#'] */
  bindingKeys?: string[]
  /** Messages in flight per node. @defaultValue 100 */
  prefetch?: number
  /**
   * Let a message's JSON body name its channel (`{ channel, type, data }`)
   * instead of its routing key. Off by default: whoever may publish to the
   * exchange under one routing key (an AMQP permission, often granted by
   * topic) could otherwise publish to any channel. While off, a body whose
   * `channel` differs from the routing key is rejected.
   * @defaultValue false
   */
  channelFromBody?: boolean
}

/** Counters of the ingest. */
export interface AmqpCounters {
  consumed: number
  rejected: number
}

/**
 * Turns one AMQP message into a publish: the channel is the routing key
 * (or, with `channelFromBody`, the body's `channel` when it has one), the
 * body is `{ type, data, channel?, idempotencyKey? }`, and `messageId`
 * serves as idempotency key by default.
 * @throws RedisseError for a message that can never be published
 */
export function amqpMessageToPublish(
  routingKey: string,
  content: Buffer,
  messageId: string | undefined,
  toRequest: (value: unknown) => PublishRequest,
  { channelFromBody = false }: { channelFromBody?: boolean | undefined } = {},
): PublishRequest {
  let body: unknown
  try {
    body = JSON.parse(content.toString('utf8'))
  } catch (cause) {
    throw new RedisseError('invalid-json', 'AMQP message body is not JSON', { cause })
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new RedisseError('invalid-body', 'AMQP message body must be an object { type, data }')
  }
  const event = body as Record<string, unknown>
  if (!channelFromBody && event.channel !== undefined && event.channel !== routingKey) {
    throw new RedisseError(
      'invalid-body',
      'AMQP message body names another channel than its routing key: publish with the channel as routing key, or set amqp.channelFromBody',
    )
  }
  return toRequest({
    channel: channelFromBody ? (event.channel ?? routingKey) : routingKey,
    type: event.type,
    data: event.data,
    ...((event.idempotencyKey ?? messageId)
      ? { idempotencyKey: event.idempotencyKey ?? messageId }
      : {}),
  })
}

/**
 * Consumes the ingest queue and publishes each message on the bus. A message
 * is acked only once its publish succeeded; an invalid one is rejected
 * without requeue (to a dead-letter exchange if the queue has one); one that
 * failed because the bus is down is requeued after a pause. Reconnects on
 * its own until `stop()`.
 */
export function startAmqpIngest(options: {
  amqp: AmqpOptions
  logger: Logger
  publish: (request: PublishRequest) => Promise<string>
  toRequest: (value: unknown) => PublishRequest
}): { counters: AmqpCounters; ready: Promise<void>; stop(): Promise<void> } {
  const { amqp, logger } = options
  const exchange = amqp.exchange ?? 'redisse'
  const queue = amqp.queue ?? 'redisse.ingest'
  const counters: AmqpCounters = { consumed: 0, rejected: 0 }
  let stopped = false
  let model: import('amqplib').ChannelModel | undefined
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })

  const connect = async (): Promise<void> => {
    const { connect: amqpConnect } = await loadAmqplib()
    const conn = await amqpConnect(amqp.url)
    model = conn
    conn.on('error', (err: Error) => logger.warn('AMQP connection error', { err: err.message }))
    conn.on('close', () => {
      model = undefined
      if (!stopped) schedule()
    })
    const channel = await conn.createChannel()
    // A channel error also closes the connection, whose close reconnects.
    channel.on('error', (err: Error) => logger.warn('AMQP channel error', { err: err.message }))
    // A publish can settle after the connection dropped: amqplib then throws
    // on ack/nack (in a promise callback or a timer, that would end the
    // process). The message is redelivered on the next connection anyway.
    const settle = (msg: import('amqplib').ConsumeMessage, ack: boolean, requeue = false) => {
      try {
        if (ack) channel.ack(msg)
        else channel.nack(msg, false, requeue)
      } catch (err) {
        logger.warn('AMQP message left for redelivery: its channel closed', { err: String(err) })
      }
    }
    await channel.assertExchange(exchange, 'topic', { durable: true })
    await channel.assertQueue(queue, { durable: true })
    for (const key of amqp.bindingKeys ?? ['#']) await channel.bindQueue(queue, exchange, key)
    await channel.prefetch(amqp.prefetch ?? 100)
    await channel.consume(queue, (msg) => {
      if (!msg) return
      let request: PublishRequest
      try {
        request = amqpMessageToPublish(
          msg.fields.routingKey,
          msg.content,
          msg.properties.messageId,
          options.toRequest,
          { channelFromBody: amqp.channelFromBody === true },
        )
      } catch (err) {
        counters.rejected += 1
        logger.warn('AMQP message rejected', {
          routingKey: msg.fields.routingKey,
          err: String(err),
        })
        settle(msg, false)
        return
      }
      options.publish(request).then(
        () => {
          counters.consumed += 1
          settle(msg, true)
        },
        (err: unknown) => {
          const permanent = isRedisseError(err) && err.status < 500
          logger.warn('AMQP message not published', { err: String(err), requeue: !permanent })
          if (permanent) {
            counters.rejected += 1
            settle(msg, false)
          } else {
            setTimeout(() => settle(msg, false, true), 1000).unref()
          }
        },
      )
    })
    logger.info('AMQP ingest consuming', { exchange, queue })
    markReady()
  }

  const schedule = () => {
    retryTimer = setTimeout(() => {
      connect().catch((err: unknown) => {
        logger.warn('AMQP connect failed, retrying in 1 s', { err: String(err) })
        if (!stopped) schedule()
      })
    }, 1000)
    retryTimer.unref()
  }

  connect().catch((err: unknown) => {
    logger.warn('AMQP connect failed, retrying in 1 s', { err: String(err) })
    if (!stopped) schedule()
  })

  return {
    counters,
    ready,
    async stop() {
      stopped = true
      clearTimeout(retryTimer)
      await model?.close().catch(() => {})
    },
  }
}
