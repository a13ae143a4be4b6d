/**
 * Socket.IO + @socket.io/redis-adapter: clients join one room per channel
 * (from the handshake query); publishers emit through Redis with
 * @socket.io/redis-emitter.
 */
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const port = Number(process.env.PORT)
const keepAlive = Number(process.env.KEEPALIVE_MS ?? 15_000)
const pub = new Redis(process.env.REDIS_URL ?? '')
const sub = pub.duplicate()
const http = createServer()
const io = new Server(http, {
  transports: ['websocket'],
  pingInterval: keepAlive,
  adapter: createAdapter(pub, sub),
})

io.on('connection', (socket) => {
  const names = String(socket.handshake.query.c ?? '')
    .split(',')
    .filter(Boolean)
  void socket.join(names)
})
http.listen(port, '127.0.0.1', () => console.log('listening'))
