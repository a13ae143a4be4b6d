/**
 * The open-loop publisher process: event k is due at start + k / rate and
 * carries that intended time as `t`, so a publisher or server that falls
 * behind shows up as latency instead of silently sending less (no
 * coordinated omission). Publishes are never awaited one by one.
 */
import type { PublisherCommand, PublisherReply } from './messages'
import { now } from './now'
import { openPublisher, type PeerPublisher } from './peerPublishers'

const target = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof openPublisher>[0]
let publisher: PeerPublisher | undefined

function payload(t: number, seq: number, bytes: number): string {
  const head = `{"t":${t.toFixed(3)},"s":${seq},"p":"`
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`
}

async function run(command: PublisherCommand): Promise<PublisherReply> {
  publisher ??= await openPublisher(target)
  const pub = publisher
  const cpu0 = process.cpuUsage()
  const perChannel: Record<string, number> = {}
  let published = 0
  let errors = 0
  let firstError: string | undefined
  const inFlight = new Set<Promise<void>>()
  // Events due at one wake-up go out as one batch where the peer has a batch API.
  let batch: Array<[string, string]> = []
  const flush = () => {
    if (batch.length === 0) return
    const events = batch
    batch = []
    track(pub.publishBatch!(events), events.length)
  }
  const track = (sent: Promise<void>, n: number) => {
    const p = sent
      .then(
        () => {
          published += n
        },
        (err: unknown) => {
          errors += n
          firstError ??= String(err)
        },
      )
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  const send = (k: number, t: number) => {
    const channel = command.channels[k % command.channels.length]!
    perChannel[channel] = (perChannel[channel] ?? 0) + 1
    const data = payload(t, k, command.payloadBytes)
    if (!pub.publishBatch) {
      track(pub.publish(channel, data), 1)
      return
    }
    batch.push([channel, data])
    if (batch.length >= 200) flush()
  }
  const start = now()
  if (command.rate <= 0) {
    for (let k = 0; k < command.count; k++) send(k, now())
    flush()
  } else {
    const interval = 1000 / command.rate
    let k = 0
    while (k < command.count) {
      const due = start + k * interval
      const wait = due - now()
      // Always yield, so responses and socket writes go on while events fall due.
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(wait, 50))))
      const t = now()
      while (k < command.count && start + k * interval <= t) {
        send(k, start + k * interval)
        k += 1
      }
      flush()
    }
  }
  await Promise.all(inFlight)
  const cpu = process.cpuUsage(cpu0)
  return {
    reply: 'done',
    published,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    perChannel,
    ms: now() - start,
    cpu: (cpu.user + cpu.system) / 1e6,
  }
}

process.on('message', (message: PublisherCommand | { cmd: 'close' }) => {
  if (message.cmd === 'close') {
    void publisher?.close().finally(() => process.exit(0))
    if (!publisher) process.exit(0)
    return
  }
  void run(message).then((r) => process.send?.(r))
})

process.on('disconnect', () => process.exit(0))
