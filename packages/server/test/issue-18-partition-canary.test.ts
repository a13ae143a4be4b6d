import type { Socket } from 'node:net'
import { clusterSlot, type Envelope, partitionPrefix } from '@redisse/protocol'
import {
  type RedisClusterProcess,
  startRedisCluster,
  startTcpProxy,
  uniquePrefix,
  waitFor,
} from '@redisse/test-utils'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Broker, BrokerState } from '../src/broker/Broker'
import { createClusterBroker } from '../src/broker/createClusterBroker'
import { createLogger } from '../src/createLogger'
import { channelOfPartition } from './channelOfPartition'
import { clusterThroughProxy } from './clusterThroughProxy'

const P = 16
const PAGE = { maxEvents: 100, maxBytes: 1 << 20 }

const channelOf = (partition: number) => channelOfPartition(partition, P)

/**
 * Length of the first whole RESP2/RESP3 value in `buf` from `at`, or
 * undefined while it is incomplete; its strings are pushed to `words`.
 */
function frameEnd(buf: Buffer, at: number, words: string[]): number | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at] ?? 0)
  const head = buf.toString('latin1', at + 1, eol)
  if ('$!='.includes(type)) {
    const n = Number(head)
    if (n < 0) return eol + 2
    if (buf.length < eol + 2 + n + 2) return undefined
    words.push(buf.toString('latin1', eol + 2, eol + 2 + n))
    return eol + 2 + n + 2
  }
  if ('*>~%|'.includes(type)) {
    const n = Number(head) * ('%|'.includes(type) ? 2 : 1)
    let end = eol + 2
    for (let i = 0; i < n; i++) {
      const next = frameEnd(buf, end, words)
      if (next === undefined) return undefined
      end = next
    }
    return end
  }
  words.push(head)
  return eol + 2
}

/** Calls `onFrame` with each whole RESP value from `socket`, and its strings. */
function onFrames(socket: Socket, onFrame: (frame: Buffer, words: string[]) => void) {
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      const words: string[] = []
      const end = frameEnd(pending, 0, words)
      if (end === undefined) return
      onFrame(pending.subarray(0, end), words)
      pending = pending.subarray(end)
    }
  })
}

/**
 * A loopback proxy to one Redis node that can make the node drop the
 * sharded subscriptions of one partition on the connections through it,
 * without their client knowing: it sends SUNSUBSCRIBE on their behalf and
 * swallows the node's confirmations. The node then truly stops sending
 * those channels' messages, as when Redis loses a subscription silently,
 * while the connection and its other subscriptions stay healthy.
 */
async function startUnsubscribingProxy(targetPort: number) {
  const links = new Set<{
    upstream: Socket
    sharded: Set<string>
    swallow: Set<string>
    swallowed: () => void
  }>()
  const proxy = await startTcpProxy(targetPort, {
    relay({ client, upstream }) {
      const link = {
        upstream,
        sharded: new Set<string>(),
        swallow: new Set<string>(),
        swallowed() {},
      }
      links.add(link)
      client.on('close', () => links.delete(link))
      onFrames(client, (frame, words) => {
        const [command, ...args] = words
        if (command?.toLowerCase() === 'ssubscribe') for (const c of args) link.sharded.add(c)
        if (command?.toLowerCase() === 'sunsubscribe') for (const c of args) link.sharded.delete(c)
        upstream.write(frame)
      })
      onFrames(upstream, (frame, words) => {
        const [kind, channel] = words
        if (kind === 'sunsubscribe' && channel !== undefined && link.swallow.delete(channel)) {
          if (link.swallow.size === 0) link.swallowed()
          return
        }
        client.write(frame)
      })
    },
  })
  return {
    port: proxy.port,
    /** Unsubscribes every sharded channel starting with `prefix`; resolves once the node confirmed. */
    async unsubscribe(prefix: string): Promise<number> {
      let dropped = 0
      await Promise.all(
        [...links].map((link) => {
          const channels = [...link.sharded].filter((c) => c.startsWith(prefix))
          if (channels.length === 0) return undefined
          dropped += channels.length
          for (const c of channels) link.swallow.add(c)
          const done = new Promise<void>((resolve) => {
            link.swallowed = resolve
          })
          // Frames from the client are forwarded whole, so this lands between two commands.
          link.upstream.write(
            `*${channels.length + 1}\r\n$12\r\nSUNSUBSCRIBE\r\n${channels.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`,
          )
          return done
        }),
      )
      return dropped
    },
    close: () => proxy.close(),
  }
}

let cluster: RedisClusterProcess
const prefix = uniquePrefix('pcanary')
const slotKey = (p: number) => clusterSlot(`${partitionPrefix(prefix, p, P)}seq`)

beforeAll(async () => {
  cluster = await startRedisCluster({ replicasPerMaster: 0 })
}, 60_000)

afterAll(async () => {
  await cluster?.stop()
})

it('resubscribes one partition whose sharded subscription the node dropped silently, the other partitions of its connection untouched', async () => {
  // The connection's first partition is the smallest of its master: the
  // deaf one is another, so a probe of the first alone would not see it.
  const port = (await cluster.masterOf(slotKey(0))).port
  const same: number[] = []
  for (let p = 0; p < P; p++) if ((await cluster.masterOf(slotKey(p))).port === port) same.push(p)
  const deaf = same.at(-1) as number
  expect(same.length).toBeGreaterThan(1)
  expect(deaf).not.toBe(same[0])

  const proxy = await startUnsubscribingProxy(port)
  const given = clusterThroughProxy(cluster, port, proxy.port)
  const broker: Broker = createClusterBroker({
    cluster: given,
    partitions: P,
    prefix,
    logger: createLogger({ level: 'silent' }),
    commandTimeout: 2000,
    probe: { interval: 200, timeout: 500 },
  })
  const parts = broker.partitions ?? []
  const seen: Envelope[] = []
  const states: BrokerState[][] = Array.from({ length: P }, () => [])
  for (const [p, part] of parts.entries()) part.onState((state) => states[p]?.push(state))
  parts[deaf]?.onEnvelope((e) => seen.push(e))
  const publish = async (data: string) => {
    const cursor = await broker.publish({ channel: channelOf(deaf), type: 'e', data })
    return cursor.slice(0, cursor.indexOf('@'))
  }
  try {
    await broker.ready()
    await broker.configureHistory({ size: 100, ttl: 60_000, rules: [] })
    for (const p of same) await parts[p]?.subscribe(channelOf(p))
    const before = await publish('before')
    await waitFor(() => seen.some((e) => e.id === before), { what: 'the event before the fault' })
    const head = await parts[deaf]?.head()
    for (const s of states) s.length = 0

    // Its channel and its probe channel.
    expect(await proxy.unsubscribe(partitionPrefix(prefix, deaf, P))).toBe(2)
    const missed = await publish('missed')
    await waitFor(() => parts[deaf]?.state === 'ready' && states[deaf]?.includes('reconnecting'), {
      timeout: 10_000,
      what: `the deaf partition ${deaf} to be subscribed again`,
    }).catch((err: unknown) => {
      throw new Error(
        `${String(err)}: it is ${parts[deaf]?.state}, went ${JSON.stringify(states[deaf])}`,
      )
    })
    expect(states[deaf]?.slice(0, 2)).toEqual(['reconnecting', 'ready'])
    const marker = await publish('marker')
    await waitFor(() => seen.some((e) => e.id === marker), { what: 'the marker after the fault' })
    // What the hub replays on 'ready': the missed event is in the partition's history.
    const page = await parts[deaf]?.histories({
      channels: [channelOf(deaf)],
      after: [head?.seq ?? 0],
      ...PAGE,
    })
    expect(page?.envelopes.map((e) => e.id)).toEqual([missed, marker])
    // The connection lived on: its other partitions never stopped.
    for (const p of same) if (p !== deaf) expect(states[p], `partition ${p}`).toEqual([])
  } finally {
    await broker.close()
    given.disconnect()
    await proxy.close()
  }
}, 30_000)
