import { Agent, request } from 'node:http'

/** How the harness publishes to one peer, the way that peer's users would. */
export type PublishTarget =
  | { via: 'redisse-http'; port: number; key: string }
  | { via: 'redisse-redis'; redisUrl: string }
  | { via: 'redis-publish'; redisUrl: string }
  | { via: 'socketio-emitter'; redisUrl: string }
  | { via: 'nchan-http'; port: number }

export interface PeerPublisher {
  publish(channel: string, payload: string): Promise<void>
  /** Several events in one request, where the peer's API has a batch publish. */
  publishBatch?(events: Array<[channel: string, payload: string]>): Promise<void>
  close(): Promise<void>
}

/**
 * POSTs once more when a kept-alive socket was closed by the server just as
 * the request went out (Node's keep-alive race: the server never saw it).
 */
async function httpPostRetrying(
  agent: Agent,
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<void> {
  try {
    await httpPost(agent, port, path, body, headers)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw err
    await httpPost(agent, port, path, body, headers)
  }
}

function httpPost(
  agent: Agent,
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) resolve()
          else reject(new Error(`HTTP ${status} from ${path}`))
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Opens the publishing side for a peer. */
export async function openPublisher(target: PublishTarget): Promise<PeerPublisher> {
  switch (target.via) {
    case 'redisse-http':
    case 'nchan-http': {
      const agent = new Agent({ keepAlive: true, maxSockets: 32 })
      const isRedisse = target.via === 'redisse-http'
      const headers: Record<string, string> = isRedisse
        ? { 'Content-Type': 'application/json', Authorization: `Bearer ${target.key}` }
        : { 'Content-Type': 'application/json' }
      return {
        publish: (channel, payload) =>
          isRedisse
            ? httpPostRetrying(
                agent,
                target.port,
                '/publish',
                `{"channel":"${channel}","type":"e","data":${payload}}`,
                headers,
              )
            : httpPostRetrying(agent, target.port, `/pub?c=${channel}`, payload, headers),
        // Redisse's POST /publish takes { events: [...] }: what a backend sending many events does.
        ...(isRedisse
          ? {
              publishBatch: (events: Array<[string, string]>) =>
                httpPostRetrying(
                  agent,
                  target.port,
                  '/publish',
                  `{"events":[${events.map(([c, p]) => `{"channel":"${c}","type":"e","data":${p}}`).join(',')}]}`,
                  headers,
                ),
            }
          : {}),
        close: async () => agent.destroy(),
      }
    }
    case 'redisse-redis': {
      const { createPublisher } = await import('@redisse/publisher')
      const pub = createPublisher({ redis: target.redisUrl })
      return {
        publish: async (channel, payload) => {
          await pub.publish(channel, 'e', JSON.parse(payload))
        },
        close: () => pub.close(),
      }
    }
    case 'redis-publish': {
      const { Redis } = await import('ioredis')
      const redis = new Redis(target.redisUrl)
      return {
        publish: async (channel, payload) => {
          await redis.publish(channel, payload)
        },
        close: async () => {
          redis.disconnect()
        },
      }
    }
    case 'socketio-emitter': {
      const { Redis } = await import('ioredis')
      const { Emitter } = await import('@socket.io/redis-emitter')
      const redis = new Redis(target.redisUrl)
      const emitter = new Emitter(redis)
      return {
        publish: async (channel, payload) => {
          emitter.to(channel).emit('e', JSON.parse(payload))
        },
        close: async () => {
          redis.disconnect()
        },
      }
    }
  }
}
