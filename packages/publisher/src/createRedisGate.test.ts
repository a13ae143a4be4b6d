import { EventEmitter } from 'node:events'
import type { RedisseError } from '@redisse/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRedisGate, type RedisGateOptions } from './createRedisGate'

/** Stands for an ioredis client: a status and the events the gate listens to. */
class FakeClient extends EventEmitter {
  status = 'connecting'
  connect = vi.fn(async () => {})
  become(status: 'ready' | 'close' | 'reconnecting' | 'end'): void {
    this.status = status
    if (status !== 'reconnecting') this.emit(status)
  }
}

function setup(options: Partial<RedisGateOptions> = {}, status = 'connecting') {
  const client = new FakeClient()
  client.status = status
  const gate = createRedisGate(client, {
    publishTimeout: 300,
    maxQueued: 10,
    failInFlightOnClose: true,
    ...options,
  })
  const sent: string[] = []
  const command =
    (name: string, answer: Promise<string> = Promise.resolve(`ok ${name}`)) =>
    () => {
      sent.push(name)
      return answer
    }
  return { client, gate, sent, command }
}

/** The error a promise rejects with; fails when it resolves. */
const rejection = (promise: Promise<unknown>): Promise<RedisseError> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`)
    },
    (err: RedisseError) => err,
  )

const never = () => new Promise<string>(() => {})

class ReplyError extends Error {
  override name = 'ReplyError'
}

describe('createRedisGate', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends at once while the connection is ready', async () => {
    const { gate, sent, command } = setup({}, 'ready')
    await expect(gate.run('publish', command('a'))).resolves.toBe('ok a')
    expect(sent).toEqual(['a'])
  })

  it('holds operations while the connection is down and sends them in call order on ready', async () => {
    const { client, gate, sent, command } = setup()
    const results = ['a', 'b', 'c'].map((name) => gate.run('publish', command(name)))
    await vi.advanceTimersByTimeAsync(100)
    expect(sent).toEqual([])
    client.become('ready')
    expect(await Promise.all(results)).toEqual(['ok a', 'ok b', 'ok c'])
    expect(sent).toEqual(['a', 'b', 'c'])
  })

  it('lets no later call overtake waiting ones between the ready status and the ready event', async () => {
    const { client, gate, sent, command } = setup()
    const first = gate.run('publish', command('first'))
    client.status = 'ready' // ioredis sets the status, then emits
    const second = gate.run('publish', command('second'))
    client.emit('ready')
    await Promise.all([first, second])
    expect(sent).toEqual(['first', 'second'])
  })

  it('fails a waiting operation with publish-timeout after publishTimeout and never sends it', async () => {
    const cause = new Error('connect ECONNREFUSED')
    const { client, gate, sent, command } = setup({ lastError: () => cause })
    const result = rejection(gate.run('publish', command('late')))
    await vi.advanceTimersByTimeAsync(299)
    expect(sent).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    const err = await result
    expect(err).toMatchObject({ name: 'RedisseError', code: 'publish-timeout', cause })
    expect(err.message).toContain('publishTimeout')
    client.become('ready')
    await vi.advanceTimersByTimeAsync(10)
    expect(sent).toEqual([])
  })

  it('refuses at once with broker-unavailable beyond maxQueued', async () => {
    const { gate, command } = setup({ maxQueued: 2 })
    const waiting = [gate.run('publish', command('a')), gate.run('publish', command('b'))]
    for (const w of waiting) w.catch(() => {})
    const refused = gate.run('publish', command('c'))
    await expect(refused).rejects.toMatchObject({ code: 'broker-unavailable' })
    await expect(refused).rejects.toThrow(/maxQueued/)
  })

  it('fails an operation sent but unanswered within publishTimeout with publish-failed', async () => {
    const { gate, command } = setup({}, 'ready')
    const result = rejection(gate.run('publish', command('a', never())))
    await vi.advanceTimersByTimeAsync(300)
    const err = await result
    expect(err).toMatchObject({ code: 'publish-failed' })
    expect(err.message).toMatch(/may or may not have been published.*idempotencyKey/)
  })

  it('fails operations in flight when the connection closes, if the client will not resend them', async () => {
    const { client, gate, command } = setup({ failInFlightOnClose: true }, 'ready')
    const result = gate.run('change', command('a', never()))
    client.become('close')
    await expect(result).rejects.toMatchObject({ code: 'publish-failed' })
    await expect(result).rejects.toThrow(/may or may not have been applied/)
  })

  it('lets a resending client answer operations in flight after a reconnection', async () => {
    const { client, gate, command } = setup({ failInFlightOnClose: false }, 'ready')
    let answer: (value: string) => void = () => {}
    const result = gate.run('publish', command('a', new Promise((r) => (answer = r))))
    client.become('close')
    client.become('ready')
    answer('resent')
    await expect(result).resolves.toBe('resent')
  })

  it("keeps the Redisse code of the publish script's own refusals", async () => {
    const { gate } = setup({}, 'ready')
    const refused = gate.run('publish', () =>
      Promise.reject(
        new ReplyError(
          'REDISSE invalid-event-type: use 1 to 100 characters, no control characters',
        ),
      ),
    )
    await expect(refused).rejects.toMatchObject({ code: 'invalid-event-type', status: 400 })
    await expect(refused).rejects.toThrow(
      'the publish script refused the event: use 1 to 100 characters, no control characters',
    )
  })

  it('maps what ioredis throws: a reply error is a refusal, a lost connection a maybe', async () => {
    const { gate } = setup({}, 'ready')
    const refused = gate.run('publish', () =>
      Promise.reject(new ReplyError('OOM command not allowed')),
    )
    await expect(refused).rejects.toMatchObject({ code: 'publish-failed' })
    await expect(refused).rejects.toThrow('Redis refused the publish: OOM command not allowed')
    const lost = gate.run('change', () => Promise.reject(new Error('Connection is closed.')))
    await expect(lost).rejects.toMatchObject({ code: 'publish-failed' })
    await expect(lost).rejects.toThrow(/may or may not have been applied/)
    const thrown = gate.run('read', () => {
      throw new Error('Connection is closed.')
    })
    await expect(thrown).rejects.toMatchObject({ code: 'broker-unavailable' })
  })

  it('queues again, in call order, what ioredis refused to write under a stale ready status', async () => {
    const { client, gate, sent } = setup({}, 'ready')
    const unwritable = new Error("Stream isn't writeable and enableOfflineQueue options is false")
    let dead = true
    // The first refusal arrives after the second: both must still go in call order.
    const delays = [5, 1]
    const command = (name: string) => () => {
      sent.push(name)
      if (!dead) return Promise.resolve(`ok ${name}`)
      const delay = delays.shift() ?? 0
      return new Promise<string>((_, reject) => setTimeout(() => reject(unwritable), delay))
    }
    const results = [gate.run('publish', command('a')), gate.run('publish', command('b'))]
    await vi.advanceTimersByTimeAsync(10)
    expect(sent).toEqual(['a', 'b'])
    dead = false
    client.become('close')
    client.become('ready')
    expect(await Promise.all(results)).toEqual(['ok a', 'ok b'])
    expect(sent).toEqual(['a', 'b', 'a', 'b'])
  })

  it('fails waiting and later operations with closed after close()', async () => {
    const { client, gate, sent, command } = setup()
    const waiting = gate.run('publish', command('a'))
    gate.close()
    await expect(waiting).rejects.toMatchObject({ code: 'closed' })
    await expect(gate.run('publish', command('b'))).rejects.toMatchObject({ code: 'closed' })
    client.become('ready')
    expect(sent).toEqual([])
    expect(client.listenerCount('ready')).toBe(0)
  })

  it('fails at once on a connection that was ended, and fails waiters when it ends', async () => {
    const { client, gate, command } = setup()
    const waiting = gate.run('publish', command('a'))
    client.become('end')
    await expect(waiting).rejects.toMatchObject({ code: 'broker-unavailable' })
    await expect(gate.run('publish', command('b'))).rejects.toThrow(/ended/)
  })

  it('connects a lazyConnect client on its first operation', async () => {
    const { client, gate, command } = setup({}, 'wait')
    const result = gate.run('publish', command('a'))
    expect(client.connect).toHaveBeenCalledTimes(1)
    client.become('ready')
    await expect(result).resolves.toBe('ok a')
  })
})
