/**
 * A load worker process: holds up to ~19k streams (one process may open
 * 20,000 files here), records publish-to-receive latency of every event into
 * an HDR histogram, and answers the harness over IPC.
 */
import * as hdr from 'hdr-histogram-js'
import { type Socket as IoSocket, io } from 'socket.io-client'
import { WebSocket } from 'ws'
import {
  type ChannelPlan,
  channelsOf,
  type SubscribeStyle,
  type WorkerCommand,
  type WorkerReply,
} from './messages'
import { now } from './now'
import { SseSocket, T_MARK } from './sseSocket'

interface Stream {
  open(): Promise<void>
  close(): void
  pause(): void
  paused: boolean
  received: number
}

const ID_MARK = '"id":"'

const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  })
let histogram = newHistogram()
const streams: Stream[] = []
let open = 0

function record(sentAt: number): void {
  // Microseconds; anything below 1 µs counts as 1.
  histogram.recordValue(Math.max(1, Math.round((now() - sentAt) * 1000)))
}

function pathOf(style: SubscribeStyle, channels: string[]): string {
  switch (style) {
    case 'redisse':
    case 'redisse-ws':
      return `/?${channels.map((c) => `channel=${c}`).join('&')}`
    case 'nchan':
      return `/sub?c=${channels.join(',')}`
    case 'query':
    case 'socketio':
      return `/?c=${channels.join(',')}`
  }
}

function sseStream(port: number, localAddress: string, path: string): Stream {
  const stream: Stream = {
    paused: false,
    received: 0,
    async open() {
      await socket.open()
      open += 1
      socket.socket?.once('close', () => {
        open -= 1
      })
    },
    close: () => socket.close(),
    pause() {
      stream.paused = true
      socket.socket?.pause()
    },
  }
  const socket = new SseSocket(port, localAddress, path, (sentAt) => {
    stream.received += 1
    record(sentAt)
  })
  return stream
}

function socketIoStream(port: number, localAddress: string, channels: string[]): Stream {
  let client: IoSocket | undefined
  const stream: Stream = {
    paused: false,
    received: 0,
    open() {
      return new Promise((resolve, reject) => {
        client = io(`http://127.0.0.1:${port}`, {
          transports: ['websocket'],
          query: { c: channels.join(',') },
          reconnection: false,
          forceNew: true,
          timeout: 60_000,
          // ws's options reach the socket: bind to this worker's source address.
          ...(localAddress === '' ? {} : { localAddress }),
        } as Parameters<typeof io>[1])
        client.on('e', (data: { t: number }) => {
          stream.received += 1
          record(data.t)
        })
        client.once('connect', () => {
          open += 1
          client?.once('disconnect', () => {
            open -= 1
          })
          resolve()
        })
        client.once('connect_error', (err) => reject(err))
      })
    },
    close: () => client?.close(),
    pause() {
      stream.paused = true
      // The engine's WebSocket transport holds the TCP socket: stop reading it.
      const transport = (
        client?.io.engine as unknown as { transport?: { ws?: { _socket?: { pause(): void } } } }
      )?.transport
      transport?.ws?._socket?.pause()
    },
  }
  return stream
}

/**
 * One Redisse stream over WebSocket: reads the publish timestamp and the id
 * out of each JSON frame without parsing it whole (as the SSE reader does),
 * and resumes from the last id after a reconnect.
 */
function redisseWsStream(port: number, localAddress: string, path: string): Stream {
  let ws: WebSocket | undefined
  let lastId: string | undefined
  const stream: Stream = {
    paused: false,
    received: 0,
    open() {
      const resume = lastId === undefined ? '' : `&lastEventId=${encodeURIComponent(lastId)}`
      return new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}${path}${resume}`, {
          perMessageDeflate: false,
          ...(localAddress === '' ? {} : { localAddress }),
        })
        ws = socket
        socket.on('message', (data: Buffer) => {
          const text = data.toString('utf8')
          const id = text.indexOf(ID_MARK)
          if (id !== -1)
            lastId = text.slice(id + ID_MARK.length, text.indexOf('"', id + ID_MARK.length))
          const t = text.indexOf(T_MARK)
          if (t === -1) return
          stream.received += 1
          record(Number.parseFloat(text.slice(t + T_MARK.length)))
        })
        socket.once('open', () => {
          open += 1
          socket.once('close', () => {
            open -= 1
          })
          resolve()
        })
        socket.on('error', (err) => {
          if (socket.readyState === WebSocket.CONNECTING) reject(err)
        })
      })
    },
    close: () => ws?.terminate(),
    pause() {
      stream.paused = true
      // Stop reading the TCP socket, as a stalled browser would.
      ;(ws as unknown as { _socket?: { pause(): void } } | undefined)?._socket?.pause()
    },
  }
  return stream
}

async function openAll(
  list: Stream[],
  concurrency: number,
): Promise<{ opened: number; failed: number; firstError?: string }> {
  let next = 0
  let opened = 0
  let failed = 0
  let firstError: string | undefined
  const lane = async () => {
    while (next < list.length) {
      const stream = list[next++]!
      try {
        await stream.open()
        opened += 1
      } catch (err) {
        failed += 1
        firstError ??= String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane))
  return firstError === undefined ? { opened, failed } : { opened, failed, firstError }
}

function cpuSeconds(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

function reply(message: WorkerReply): void {
  process.send?.(message)
}

async function connectStreams(
  style: SubscribeStyle,
  port: number,
  localAddress: string,
  first: number,
  count: number,
  plan: ChannelPlan,
  concurrency: number,
): Promise<void> {
  const fresh: Stream[] = []
  for (let i = first; i < first + count; i++) {
    const channels = channelsOf(plan, i)
    fresh.push(
      style === 'socketio'
        ? socketIoStream(port, localAddress, channels)
        : style === 'redisse-ws'
          ? redisseWsStream(port, localAddress, pathOf(style, channels))
          : sseStream(port, localAddress, pathOf(style, channels)),
    )
  }
  streams.push(...fresh)
  const started = now()
  const result = await openAll(fresh, concurrency)
  reply({ reply: 'connected', ...result, ms: now() - started })
}

process.on('message', (message: WorkerCommand) => {
  switch (message.cmd) {
    case 'connect':
      void connectStreams(
        message.style,
        message.port,
        message.localAddress,
        message.first,
        message.count,
        message.plan,
        message.concurrency,
      )
      return
    case 'reset':
      histogram = newHistogram()
      for (const stream of streams) stream.received = 0
      reply({ reply: 'ok' })
      return
    case 'collect': {
      let received = 0
      let receivedActive = 0
      let activeConnections = 0
      for (const stream of streams) {
        received += stream.received
        if (stream.paused) continue
        receivedActive += stream.received
        activeConnections += 1
      }
      reply({
        reply: 'collected',
        received,
        receivedActive,
        activeConnections,
        open,
        histogram: hdr.encodeIntoCompressedBase64(histogram),
        cpu: cpuSeconds(),
      })
      return
    }
    case 'pause': {
      // Every k-th stream stops reading, spread evenly over channels.
      const every = Math.round(1 / message.fraction)
      streams.forEach((stream, i) => {
        if (i % every === 0) stream.pause()
      })
      reply({ reply: 'ok' })
      return
    }
    case 'reconnect': {
      for (const stream of streams) stream.close()
      const started = now()
      void openAll(streams, message.concurrency).then((result) =>
        reply({ reply: 'connected', ...result, ms: now() - started }),
      )
      return
    }
    case 'close':
      for (const stream of streams) stream.close()
      setTimeout(() => process.exit(0), 200).unref()
      reply({ reply: 'ok' })
      return
  }
})

// The harness went away (stopped, crashed): so does its load.
process.on('disconnect', () => process.exit(0))
