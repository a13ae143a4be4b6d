import type { IncomingMessage, ServerResponse } from 'node:http'
import { RedisseError } from '@redisse/protocol'
import { formatMetrics, type Metric } from './formatMetrics'
import { sendError, sendJson } from './httpErrors'
import { mergeMetrics, mergeStats } from './mergeSnapshots'
import type { ServerContext } from './ServerContext'
import { hasBearer } from './safeEqual'

/** The JSON of `GET /stats`. */
export interface ServerStats {
  connections: number
  /** Open connections per transport (a waiting long poll counts as one). */
  transports: { sse: number; websocket: number; poll: number }
  channels: Record<string, number>
  events: {
    received: number
    delivered: number
    recovered: number
    published: number
    publishErrors: number
    /** Long polls answered. */
    polls: number
    /** WebSocket messages handed to `push.onMessage`. */
    messages: number
  }
  dropped: {
    slowClients: number
    /**
     * Envelopes from the bus or history that failed their checks (each time
     * one was read), and well-formed ones from the bus far past the log's
     * head, which the log never held.
     */
    envelopes: number
  }
  rejected: Record<string, number>
  broker: {
    kind: 'redis' | 'embedded'
    state: string
    reconnects: number
    /**
     * Times a partition was found deaf on a live subscriber connection
     * (Redis Cluster; 0 elsewhere), each probe round it stays so.
     */
    deafVerdicts: number
    /** Partitions deaf now: found so, not heard since. */
    deafPartitions: number
  }
  amqp?: { consumed: number; rejected: number }
  uptimeMs: number
}

/** Collects the node's figures. */
export function collectStats(ctx: ServerContext): ServerStats {
  const { hub, counters, broker } = ctx
  return {
    connections: hub.connections.size,
    transports: hub.transportCounts(),
    channels: hub.channelCounts(),
    events: {
      received: hub.counters.received,
      delivered: hub.counters.delivered,
      recovered: hub.counters.recovered,
      published: counters.published,
      publishErrors: counters.publishErrors,
      polls: hub.counters.polls,
      messages: hub.counters.messages,
    },
    dropped: {
      slowClients: hub.counters.slowClientDrops,
      envelopes: (broker.droppedEnvelopes ?? 0) + hub.counters.forgedEnvelopes,
    },
    rejected: { ...counters.rejected },
    broker: {
      kind: broker.kind,
      state: broker.state,
      reconnects: counters.brokerReconnects,
      deafVerdicts: broker.deafVerdicts ?? 0,
      deafPartitions: broker.deafPartitions ?? 0,
    },
    ...(ctx.amqp ? { amqp: { ...ctx.amqp } } : {}),
    uptimeMs: Date.now() - ctx.startedAt,
  }
}

function metricsText(ctx: ServerContext): string {
  return formatMetrics(collectMetrics(ctx))
}

/** The metrics of `GET /metrics`, before formatting. */
export function collectMetrics(ctx: ServerContext): Metric[] {
  const s = collectStats(ctx)
  return [
    {
      name: 'redisse_connections',
      help: 'Open event streams.',
      type: 'gauge',
      values: [{ value: s.connections }],
    },
    {
      name: 'redisse_transport_connections',
      help: 'Open connections by transport (a waiting long poll counts as one).',
      type: 'gauge',
      values: Object.entries(s.transports).map(([transport, value]) => ({
        labels: { transport },
        value,
      })),
    },
    {
      name: 'redisse_polls_total',
      help: 'Long polls served.',
      type: 'counter',
      values: [{ value: s.events.polls }],
    },
    {
      name: 'redisse_client_messages_total',
      help: 'WebSocket messages handed to push.onMessage.',
      type: 'counter',
      values: [{ value: s.events.messages }],
    },
    {
      name: 'redisse_channels',
      help: 'Channels with at least one local listener.',
      type: 'gauge',
      values: [{ value: Object.keys(s.channels).length }],
    },
    {
      name: 'redisse_events_received_total',
      help: 'Events received from the bus.',
      type: 'counter',
      values: [{ value: s.events.received }],
    },
    {
      name: 'redisse_events_delivered_total',
      help: 'Event frames written to streams.',
      type: 'counter',
      values: [{ value: s.events.delivered }],
    },
    {
      name: 'redisse_events_published_total',
      help: 'Events published through this node.',
      type: 'counter',
      values: [{ value: s.events.published }],
    },
    {
      name: 'redisse_publish_errors_total',
      help: 'Failed HTTP publishes.',
      type: 'counter',
      values: [{ value: s.events.publishErrors }],
    },
    {
      name: 'redisse_slow_client_drops_total',
      help: 'Streams cut off for not reading.',
      type: 'counter',
      values: [{ value: s.dropped.slowClients }],
    },
    {
      name: 'redisse_envelopes_dropped_total',
      help: 'Envelopes from the bus or history that failed their checks, each time one was read.',
      type: 'counter',
      values: [{ value: s.dropped.envelopes }],
    },
    {
      name: 'redisse_connections_rejected_total',
      help: 'Stream requests refused, by reason.',
      type: 'counter',
      values: Object.entries(s.rejected).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    ctx.hub.latency.metric(
      'redisse_delivery_latency_seconds',
      'Time from publish (broker clock) to the write to local streams.',
    ),
    {
      name: 'redisse_broker_reconnects_total',
      help: 'Times the broker connection was lost and retried.',
      type: 'counter',
      values: [{ value: s.broker.reconnects }],
    },
    {
      name: 'redisse_broker_deaf_verdicts_total',
      help: 'Times a cluster partition was found deaf on a live subscriber connection, each probe round.',
      type: 'counter',
      values: [{ value: s.broker.deafVerdicts }],
    },
    {
      name: 'redisse_broker_deaf_partitions',
      help: 'Cluster partitions found deaf that have not heard their probe since.',
      type: 'gauge',
      values: [{ value: s.broker.deafPartitions }],
    },
    {
      name: 'redisse_broker_up',
      help: '1 when the broker is connected.',
      type: 'gauge',
      values: [{ value: s.broker.state === 'ready' ? 1 : 0 }],
    },
  ]
}

/**
 * `GET /healthz` (always), `/stats` and `/metrics` (per the `stats` and
 * `statsKey` options). Returns false for other paths, and for `/stats` and
 * `/metrics` when they are off, so a mounted handler passes them on with
 * `next()` and a standalone one answers 404: nothing tells a stranger they exist.
 */
export function handleStatus(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  if (path === '/healthz') {
    const ok = ctx.broker.state === 'ready' && !ctx.closing
    sendJson(res, ok ? 200 : 503, { ok, broker: ctx.broker.state, closing: ctx.closing })
    return true
  }
  if (path !== '/stats' && path !== '/metrics') return false
  const { stats, statsKey } = ctx.options
  if (stats === 'off') return false
  if (stats === 'key' && !hasBearer(req.headers.authorization, statsKey ?? '')) {
    sendError(
      res,
      new RedisseError('unauthorized', `send Authorization: Bearer <stats key> to read ${path}`),
    )
    return true
  }
  if (ctx.gather) {
    void answerForWorkers(ctx.gather, res, path)
    return true
  }
  if (path === '/stats') {
    sendJson(res, 200, collectStats(ctx))
    return true
  }
  sendMetrics(res, metricsText(ctx))
  return true
}

/** `/stats` or `/metrics` summed over every worker of the box. */
async function answerForWorkers(
  gather: NonNullable<ServerContext['gather']>,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    const { snapshots, expected } = await gather()
    if (path === '/stats') sendJson(res, 200, mergeStats(snapshots, expected))
    else sendMetrics(res, formatMetrics(mergeMetrics(snapshots)))
  } catch (err) {
    sendError(
      res,
      new RedisseError('internal', `cannot gather the workers' figures: ${String(err)}`),
    )
  }
}

function sendMetrics(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  })
  res.end(body)
}
