import type { Envelope } from '@redisse/protocol'
import {
  createKeys,
  type PollResponse,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  publishScriptArgs,
} from '@redisse/protocol'
import { freePort, openSse, spawnCliFromSource, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Broker } from '../src/broker/Broker'
import { createEmbeddedBroker } from '../src/broker/createEmbeddedBroker'
import { type AnyStream, call, type Running, startServer, TRANSPORTS } from './harness'
import { POISONS, SPLICE } from './poisons'

// Issue 14 §5: anyone who can run the documented publish script, or PUBLISH
// on the bus, could kill every node (a type with CR threw inside the hub's
// flush on process.nextTick) or splice a forged event into WebSocket and
// poll frames (data that is not JSON). Each case ends with a marker event:
// the node lived, the poisoned envelope was dropped and counted, and the
// events after it still flow.

let redis: Redis
beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterAll(async () => {
  await redis.quit()
})

/** Runs the publish script by hand, as another language would, with any type, channel and data. */
function rawScript(
  prefix: string,
  event: { channel: string; type: string; data: string },
): Promise<unknown> {
  const call = publishScriptArgs(createKeys(prefix), event, { epoch: 'poison1' })
  return redis.eval(PUBLISH_SCRIPT, PUBLISH_SCRIPT_KEY_COUNT, ...call.keys, ...call.args)
}

/** A hand-made envelope text, as no SDK would write it. */
async function forged(prefix: string, channel: string, type: string, data: string) {
  const keys = createKeys(prefix)
  const epoch = (await redis.get(keys.epoch)) ?? 'poison1'
  const seq = await redis.incr(keys.seq)
  return { seq, text: `redisse/1\n${epoch}-${seq}\n${channel}\n${type}\n${Date.now()}\n${data}` }
}

const dropped = (srv: Running) => srv.server.stats().dropped.envelopes

describe.each(TRANSPORTS)('poisoned envelopes on the bus, over %s', (transport) => {
  it('refuses CR, LF and NUL in type and channel in the publish script: Redis never holds the event', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true }, { prefix, transport })
    const stream = await srv.open('/?channel=a')
    const keys = createKeys(prefix)
    for (const type of ['evil\r\nevent: forged', 'evil\nx', 'evil\0x', 'evil\rx']) {
      await expect(rawScript(prefix, { channel: 'a', type, data: '{}' })).rejects.toThrow(
        /invalid-event-type/,
      )
    }
    for (const channel of ['a\r\nb', 'a\nb', 'a\0b']) {
      await expect(rawScript(prefix, { channel, type: 'm', data: '{}' })).rejects.toThrow(
        /invalid-channel/,
      )
    }
    expect(await redis.zcard(keys.history('a'))).toBe(0)
    expect(await redis.get(keys.seq)).toBeNull()
    await srv.publish('a', 'marker', 1)
    const events = await stream.waitForEvents(1)
    expect(events.map((e) => [e.event, e.data])).toEqual([['marker', '1']])
  })

  it.each(POISONS)(
    'drops an envelope PUBLISHed with %s, counts it, and delivers the next event',
    async (_what, type, data) => {
      const prefix = uniquePrefix('poison')
      await using srv = await startServer('redis', { public: true }, { prefix, transport })
      const stream = await srv.open('/?channel=a')
      const poison = await forged(prefix, 'a', type, data)
      await redis.publish(createKeys(prefix).pubsub('a'), poison.text)
      await waitFor(() => dropped(srv) === 1, { what: 'the envelope counted as dropped' })
      await srv.publish('a', 'marker', 2)
      await stream.waitForEvents(1)
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([['marker', '2']])
      expect(stream.isEnded).toBe(false)
    },
  )

  it('drops an envelope whose channel is not the one it was PUBLISHed on', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true }, { prefix, transport })
    const secret = await srv.open('/?channel=private')
    // Someone on the node hears the channel the forged envelope is PUBLISHed on.
    const open = await srv.open('/?channel=public')
    const poison = await forged(prefix, 'private', 'm', '"forged"')
    await redis.publish(createKeys(prefix).pubsub('public'), poison.text)
    await redis.publish(
      createKeys(prefix).pubsub('private'),
      poison.text.replace('"forged"', '"real"'),
    )
    await secret.waitForEvents(1)
    await redis.publish(
      createKeys(prefix).pubsub('public'),
      (await forged(prefix, 'public', 'm', '"ok"')).text,
    )
    await open.waitForEvents(1)
    expect(secret.events.map((e) => e.data)).toEqual(['"real"'])
    expect(open.events.map((e) => e.data)).toEqual(['"ok"'])
    expect(dropped(srv)).toBe(1)
  })

  it('skips poisoned entries of history on resume, counts them, and replays the rest in order', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true }, { prefix, transport })
    const keys = createKeys(prefix)
    const first = await srv.publish('a', 'm', 'first')
    for (const [, type, data] of POISONS) {
      const poison = await forged(prefix, 'a', type, data)
      await redis.zadd(keys.history('a'), poison.seq, poison.text)
      await redis.hset(keys.historyMeta('a'), 'last', poison.seq)
    }
    await srv.publish('a', 'm', 'after')
    const resumed = await srv.open(`/?channel=a&lastEventId=${encodeURIComponent(first)}`)
    await srv.publish('a', 'marker', 'live')
    await resumed.waitForEvents(2)
    expect(resumed.events.map((e) => [e.event, e.data])).toEqual([
      ['m', '"after"'],
      ['marker', '"live"'],
    ])
    expect(dropped(srv)).toBe(POISONS.length)
    // A second resume reads them again, and still lives.
    const again = await srv.open(`/?channel=a&lastEventId=${encodeURIComponent(first)}`)
    await again.waitForEvents(2)
    expect(again.events.map((e) => e.data)).toEqual(['"after"', '"live"'])
    expect(dropped(srv)).toBe(2 * POISONS.length)
  })
})

describe('poisoned envelopes on the bus, over long polling', () => {
  const poll = async (url: string) => {
    const res = await call(url)
    expect(res.status).toBe(200)
    return res.body as PollResponse
  }

  it('answers a waiting poll with the marker only, never a poisoned or forged event', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true }, { prefix })
    let cursor = await srv.publish('a', 'm', 'start')
    for (const [what, type, data] of POISONS) {
      const waiting = poll(`${srv.url}/poll?channel=a&lastEventId=${encodeURIComponent(cursor)}`)
      await waitFor(() => srv.server.stats().transports.poll === 1, { what: 'poll waiting' })
      const poison = await forged(prefix, 'a', type, data)
      const before = dropped(srv)
      await redis.publish(createKeys(prefix).pubsub('a'), poison.text)
      await waitFor(() => dropped(srv) === before + 1, { what: `${what} dropped` })
      const marker = await srv.publish('a', 'marker', what)
      const body = await waiting
      expect(body.events).toEqual([{ id: marker, type: 'marker', channel: 'a', data: what }])
      cursor = marker
      await waitFor(() => srv.server.stats().transports.poll === 0, { what: 'poll answered' })
    }
  })

  it('skips poisoned entries of history in a poll answer', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true }, { prefix })
    const keys = createKeys(prefix)
    const first = await srv.publish('a', 'm', 'first')
    for (const [, type, data] of POISONS) {
      const poison = await forged(prefix, 'a', type, data)
      await redis.zadd(keys.history('a'), poison.seq, poison.text)
      await redis.hset(keys.historyMeta('a'), 'last', poison.seq)
    }
    const after = await srv.publish('a', 'm', 'after')
    const body = await poll(`${srv.url}/poll?channel=a&lastEventId=${encodeURIComponent(first)}`)
    expect(body.events).toEqual([{ id: after, type: 'm', channel: 'a', data: 'after' }])
    expect(dropped(srv)).toBe(POISONS.length)
  })
})

describe('the counter of dropped envelopes', () => {
  it('is in /stats and /metrics', async () => {
    const prefix = uniquePrefix('poison')
    await using srv = await startServer('redis', { public: true, stats: 'public' }, { prefix })
    const stream: AnyStream = await srv.open('/?channel=a')
    await redis.publish(createKeys(prefix).pubsub('a'), 'redisse/1\nnot a cursor\na\nm\n0\n{}')
    await waitFor(() => dropped(srv) === 1, { what: 'dropped' })
    const stats = await call(`${srv.url}/stats`)
    expect(stats.body).toMatchObject({ dropped: { envelopes: 1 } })
    const metrics = await call(`${srv.url}/metrics`)
    expect(metrics.body).toContain('\nredisse_envelopes_dropped_total 1\n')
    expect(stream.isEnded).toBe(false)
  })
})

describe('a real CLI process', () => {
  it('lives through a type with CR and data that is not JSON on the bus, and delivers the marker after them', async () => {
    const prefix = uniquePrefix('poison-cli')
    const port = await freePort()
    const cli = spawnCliFromSource(
      [
        '--public',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--prefix',
        prefix,
        '--stats-key',
        'poison-stats-key',
      ],
      { env: { ...process.env, REDIS_URL: inject('redisUrl') }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    cli.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    cli.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)))
    try {
      await waitFor(() => output.includes('listening'), { what: 'listening', timeout: 10_000 })
      const base = `http://127.0.0.1:${port}`
      const sse = await openSse(`${base}/?channel=a`)
      await sse.waitForComment('ok')
      const keys = createKeys(prefix)
      for (const [type, data] of [
        ['evil\revent: forged', '{}'],
        ['m', SPLICE],
      ]) {
        const poison = await forged(prefix, 'a', type ?? '', data ?? '')
        await redis.publish(keys.pubsub('a'), poison.text)
      }
      const call = publishScriptArgs(
        keys,
        { channel: 'a', type: 'marker', data: '"alive"' },
        { epoch: 'poison1' },
      )
      await redis.eval(PUBLISH_SCRIPT, PUBLISH_SCRIPT_KEY_COUNT, ...call.keys, ...call.args)
      const events = await sse.waitForEvents(1)
      expect(events.map((e) => [e.event, e.data])).toEqual([['marker', '"alive"']])
      expect(cli.exitCode).toBeNull()
      const stats = (await (
        await fetch(`${base}/stats`, { headers: { Authorization: 'Bearer poison-stats-key' } })
      ).json()) as { dropped: unknown }
      expect(stats.dropped).toMatchObject({ envelopes: 2 })
      expect(output).toContain('dropped an invalid envelope')
      sse.close()
    } finally {
      cli.kill('SIGKILL')
      await exited
    }
  }, 20_000)
})

describe('the embedded broker', () => {
  it.each([
    ['a type with CR', 'a', 'evil\revent: forged', 'invalid-event-type'],
    ['a type with U+2028', 'a', 'evil\u2028x', 'invalid-event-type'],
    ['a reserved type', 'a', 'redisse:reset', 'reserved-event-type'],
    ['a channel with LF', 'a\nb', 'm', 'invalid-channel'],
  ])(
    'refuses %s on server.broker.publish(), as the Redis broker does',
    async (_what, channel, type, code) => {
      await using srv = await startServer('embedded', { public: true })
      const stream = await srv.open('/?channel=a')
      await expect(srv.publish(channel, type, {})).rejects.toMatchObject({ code })
      await srv.publish('a', 'marker', 1)
      await stream.waitForEvents(1)
      expect(stream.events.map((e) => e.event)).toEqual(['marker'])
    },
  )
})

describe('the hub', () => {
  it('survives an event it cannot encode from a broker that checks nothing, and delivers the next one', async () => {
    const inner = createEmbeddedBroker()
    let emit: (envelope: Envelope) => void = () => {}
    const broker: Broker = {
      ...inner,
      get state() {
        return inner.state
      },
      onEnvelope(listener) {
        emit = listener
        inner.onEnvelope(listener)
      },
    }
    await using srv = await startServer('embedded', { public: true, broker })
    const one = await srv.open('/?channel=a')
    const two = await srv.open('/?channel=a')
    const epoch = (await srv.publish('a', 'm', 'first')).split('-')[0] ?? ''
    await one.waitForEvents(1)
    await two.waitForEvents(1)
    const envelope = (seq: number, type: string): Envelope => ({
      id: `${epoch}-${seq}`,
      channel: 'a',
      type,
      ts: Date.now(),
      data: '{}',
    })
    emit(envelope(2, 'evil\revent: forged'))
    // Two at once go through the batched path.
    emit(envelope(3, 'evil\nagain'))
    emit(envelope(4, 'fine'))
    await new Promise((r) => setImmediate(r))
    emit(envelope(5, 'marker'))
    for (const stream of [one, two]) {
      await stream.waitForEvents(2)
      expect(stream.events.map((e) => e.event).at(-1)).toBe('marker')
      expect(stream.events.map((e) => e.event)).not.toContain('forged')
      expect(stream.isEnded).toBe(false)
    }
  })
})
