/**
 * Steady-state CPU of the per-event path of a bus event (envelope read, with
 * its cache full, then the SSE chunk), no I/O: 1.2M distinct envelopes of
 * ~100 B data, as S3 publishes. Issue 18 §5(c).
 *
 *   node --conditions=@redisse/source --import tsx bench/scripts/envelopePath.ts
 */
import { createKeys, formatEnvelope } from '../../packages/protocol/src/index'
import { createEnvelopeReader } from '../../packages/server/src/broker/createEnvelopeReader'
import type { Logger } from '../../packages/server/src/createLogger'
import { OutgoingEvent } from '../../packages/server/src/OutgoingEvent'

const keys = createKeys()
const logger: Logger = { warn() {}, error() {}, info() {}, debug() {} }
const reader = createEnvelopeReader({ keys, logger })
const N = 200_000
const raws: string[] = []
const chans: string[] = []
for (let i = 0; i < N; i++) {
  const channel = i % 11 === 0 ? `g${i % 1000}` : `u${i % 10000}`
  raws.push(
    formatEnvelope({
      id: `k3x9a2bq-${i + 1}`,
      channel,
      type: 'e',
      ts: Date.now(),
      data: JSON.stringify({ t: Date.now() + i, p: 'x'.repeat(70) }),
    }),
  )
  chans.push(keys.pubsub(channel))
}
let sink = 0
for (let r = 0; r < 6; r++) {
  const t = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    // fresh string per read, as from the bus
    const raw = (raws[i] as string).slice(0, -1) + (raws[i] as string).slice(-1)
    const e = reader.read(raw, chans[i] as string, 'bus')!
    sink += new OutgoingEvent(e, i, false).sseChunk.length
  }
  const u = process.cpuUsage(t)
  console.log(`µs/event ${((u.user + u.system) / N).toFixed(3)}`)
}
if (sink === 0) throw new Error('nothing encoded')
