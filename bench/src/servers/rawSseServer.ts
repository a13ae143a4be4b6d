/**
 * The floor: a raw `net` SSE writer with no features (no auth, no history,
 * no backpressure limit). One Redis subscriber; each message is framed once
 * and the same Buffer written to every socket of its channel.
 */
import { createServer, type Socket } from 'node:net'
import { Redis } from 'ioredis'

const port = Number(process.env.PORT)
const keepAlive = Number(process.env.KEEPALIVE_MS ?? 15_000)
const sub = new Redis(process.env.REDIS_URL ?? '')
const byChannel = new Map<string, Set<Socket>>()
const all = new Set<Socket>()
const HEAD =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n:ok\n\n'
const PING = Buffer.from(':\n\n')

sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const set = byChannel.get(channel.toString())
  if (!set) return
  const frame = Buffer.concat([Buffer.from('data: '), message, Buffer.from('\n\n')])
  for (const socket of set) socket.write(frame)
})

createServer((socket) => {
  let head = ''
  socket.setNoDelay(true)
  socket.on('error', () => socket.destroy())
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1')
    if (!head.includes('\r\n\r\n')) return
    socket.off('data', onData)
    const url = new URL(head.slice(4, head.indexOf(' ', 4)), 'http://x')
    const channels = (url.searchParams.get('c') ?? '').split(',').filter(Boolean)
    socket.write(HEAD)
    all.add(socket)
    for (const c of channels) {
      let set = byChannel.get(c)
      if (!set) {
        set = new Set()
        byChannel.set(c, set)
      }
      if (set.size === 0) void sub.subscribe(c)
      set.add(socket)
    }
    socket.on('close', () => {
      all.delete(socket)
      for (const c of channels) byChannel.get(c)?.delete(socket)
    })
  }
  socket.on('data', onData)
}).listen(port, '127.0.0.1', () => console.log('listening'))

setInterval(() => {
  for (const socket of all) socket.write(PING)
}, keepAlive)
