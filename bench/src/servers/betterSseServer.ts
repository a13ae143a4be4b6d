/**
 * better-sse + ioredis fan-out, written the way its docs suggest: one
 * better-sse Channel per Redis channel, one Redis subscriber for the process.
 */
import { createServer } from 'node:http'
import { type Channel, createChannel, createSession } from 'better-sse'
import { Redis } from 'ioredis'

const port = Number(process.env.PORT)
const keepAlive = Number(process.env.KEEPALIVE_MS ?? 15_000)
const sub = new Redis(process.env.REDIS_URL ?? '')
const channels = new Map<string, Channel>()

sub.on('message', (name: string, message: string) => {
  channels.get(name)?.broadcast(JSON.parse(message), 'e')
})

function channelOf(name: string): Channel {
  let channel = channels.get(name)
  if (!channel) {
    channel = createChannel()
    channels.set(name, channel)
    void sub.subscribe(name)
  }
  return channel
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  const names = (url.searchParams.get('c') ?? '').split(',').filter(Boolean)
  req.socket.setNoDelay(true)
  const session = await createSession(req, res, { keepAlive })
  for (const name of names) channelOf(name).register(session)
})
server.requestTimeout = 0
server.headersTimeout = 0
server.maxConnections = 50_000
server.listen(port, '127.0.0.1', () => console.log('listening'))
