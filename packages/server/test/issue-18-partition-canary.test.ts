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
  let subscribers = 0
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
        if (command?.toLowerCase() === 'ssubscribe') {
          if (link.sharded.size === 0) subscribers += 1
          for (const c of args) link.sharded.add(c)
        }
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
    /** How many connections through it have SSUBSCRIBEd so far. */
    get subscribers() {
      return subscribers
    },
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
          // Frames from the client are forwarded whole, so these land between
          // two commands; one channel each, as a SUNSUBSCRIBE spans one slot.
          for (const c of channels) {
            link.upstream.write(`*2\r\n$12\r\nSUNSUBSCRIBE\r\n$${Buffer.byteLength(c)}\r\n${c}\r\n`)
          }
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

/** The partitions served by the master of partition 0, and a broker reaching it through the proxy. */
async function startRig() {
  const port = (await cluster.masterOf(slotKey(0))).port
  const same: number[] = []
  for (let p = 0; p < P; p++) if ((await cluster.masterOf(slotKey(p))).port === port) same.push(p)
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
  const seen: Envelope[][] = Array.from({ length: P }, () => [])
  const states: BrokerState[][] = Array.from({ length: P }, () => [])
  for (const [p, part] of parts.entries()) {
    part.onState((state) => states[p]?.push(state))
    part.onEnvelope((e) => seen[p]?.push(e))
  }
  const publish = async (p: number, data: string) => {
    const cursor = await broker.publish({ channel: channelOf(p), type: 'e', data })
    return cursor.slice(0, cursor.indexOf('@'))
  }
  /** Publishes and waits for the event on its partition. */
  const roundTrip = async (p: number, data: string) => {
    const id = await publish(p, data)
    await waitFor(() => seen[p]?.some((e) => e.id === id), { what: `${data} on partition ${p}` })
    return id
  }
  /** Waits for `p` to have gone reconnecting and be ready again. */
  const cameBack = (p: number) =>
    waitFor(() => parts[p]?.state === 'ready' && states[p]?.includes('reconnecting'), {
      timeout: 10_000,
      what: `partition ${p} to be subscribed again`,
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}: it is ${parts[p]?.state}, went ${JSON.stringify(states[p])}`)
    })
  try {
    await broker.ready()
    await broker.configureHistory({ size: 100, ttl: 60_000, rules: [] })
    for (const p of same) await parts[p]?.subscribe(channelOf(p))
    for (const p of same) await roundTrip(p, 'before the fault')
  } catch (err) {
    await broker.close()
    throw err
  }
  for (const s of states) s.length = 0
  return {
    same,
    proxy,
    parts,
    states,
    publish,
    roundTrip,
    cameBack,
    async [Symbol.asyncDispose]() {
      await broker.close()
      given.disconnect()
      await proxy.close()
    },
  }
}

it('resubscribes one partition whose sharded subscription the node dropped silently, the other partitions of its connection untouched', async () => {
  await using rig = await startRig()
  const { same, proxy, parts, states } = rig
  // The connection's first partition is the smallest of its master: the
  // deaf one is another, so a probe of the first alone would not see it.
  const deaf = same.at(-1) as number
  expect(same.length).toBeGreaterThan(1)
  expect(deaf).not.toBe(same[0])
  const head = await parts[deaf]?.head()

  // Its channel and its probe channel.
  expect(await proxy.unsubscribe(partitionPrefix(prefix, deaf, P))).toBe(2)
  const missed = await rig.publish(deaf, 'missed')
  await rig.cameBack(deaf)
  expect(states[deaf]?.slice(0, 2)).toEqual(['reconnecting', 'ready'])
  const marker = await rig.roundTrip(deaf, 'marker')
  // What the hub replays on 'ready': the missed event is in the partition's history.
  const page = await parts[deaf]?.histories({
    channels: [channelOf(deaf)],
    after: [head?.seq ?? 0],
    ...PAGE,
  })
  expect(page?.envelopes.map((e) => e.id)).toEqual([missed, marker])
  // The connection lived on: its other partitions never stopped.
  for (const p of same) if (p !== deaf) expect(states[p], `partition ${p}`).toEqual([])
  expect(proxy.subscribers).toBe(1)
}, 30_000)

it('replaces a live subscriber connection on which no partition hears its probe any more', async () => {
  await using rig = await startRig()
  const { same, proxy, states } = rig
  expect(await proxy.unsubscribe(prefix)).toBe(2 * same.length)
  for (const p of same) await rig.cameBack(p)
  for (const p of same)
    expect(states[p]?.slice(0, 2), `partition ${p}`).toEqual(['reconnecting', 'ready'])
  // A new connection: the old one, subscribed to nothing, is no use.
  expect(proxy.subscribers).toBe(2)
  for (const p of same) await rig.roundTrip(p, `marker on partition ${p}`)
}, 30_000)
