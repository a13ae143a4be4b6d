/** How a load worker asks a peer for a stream of several channels. */
export type SubscribeStyle = 'redisse' | 'redisse-ws' | 'nchan' | 'query' | 'socketio'

/** How a connection's channels are chosen from its index. */
export interface ChannelPlan {
  /** Channels every connection hears. */
  shared: string[]
  /** Adds `u<i>`, a channel of its own. */
  personal: boolean
  /** Adds `g<i / groupSize>`, a group channel shared by `groupSize` connections. */
  groupSize: number
}

/** The channels connection `i` hears under a plan. */
export function channelsOf(plan: ChannelPlan, i: number): string[] {
  const out = [...plan.shared]
  if (plan.personal) out.push(`u${i}`)
  if (plan.groupSize > 0) out.push(`g${Math.floor(i / plan.groupSize)}`)
  return out
}

/** Messages from the harness to a load worker. */
export type WorkerCommand =
  | {
      cmd: 'connect'
      style: SubscribeStyle
      port: number
      localAddress: string
      first: number
      count: number
      plan: ChannelPlan
      /** Connections opening at once (a connect storm, bounded). */
      concurrency: number
    }
  | { cmd: 'reset' }
  | { cmd: 'collect' }
  | { cmd: 'pause'; fraction: number }
  | { cmd: 'reconnect'; concurrency: number }
  | { cmd: 'close' }

/** What a worker reports back. */
export type WorkerReply =
  | { reply: 'connected'; opened: number; failed: number; ms: number; firstError?: string }
  | { reply: 'ok' }
  | {
      reply: 'collected'
      received: number
      /** Received by connections that were not paused. */
      receivedActive: number
      activeConnections: number
      open: number
      histogram: string
      cpu: number
    }

/** Messages from the harness to the publisher process. */
export type PublisherCommand = {
  cmd: 'run'
  /** Events per second; 0 sends `count` events back to back. */
  rate: number
  count: number
  payloadBytes: number
  /** Channels to publish to, chosen round-robin. */
  channels: string[]
}

export type PublisherReply = {
  reply: 'done'
  published: number
  errors: number
  firstError?: string
  /** Count of events sent to each channel, for expected deliveries. */
  perChannel: Record<string, number>
  ms: number
  cpu: number
}
