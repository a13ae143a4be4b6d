import { RedisseError } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { withDeadline } from './withDeadline'

const never = new Promise<never>(() => {})

describe('withDeadline', () => {
  it('resolves with the result of a call that settles in time', async () => {
    await expect(withDeadline(Promise.resolve(42), { what: 'read', ms: 50 })).resolves.toBe(42)
  })

  it('fails a call that never settles with broker-unavailable once the bound passed', async () => {
    const started = Date.now()
    const err = await withDeadline(never, { what: 'read the log head', ms: 50 }).catch((e) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
    expect(err).toBeInstanceOf(RedisseError)
    expect(err).toMatchObject({ code: 'broker-unavailable', status: 503 })
    expect(err.message).toBe(
      'cannot read the log head: Redis did not answer within 50 ms; retry shortly',
    )
  })

  it('fails at once when the connection is lost, before the bound', async () => {
    const lost = new AbortController()
    const pending = withDeadline(never, { what: 'read', ms: 10_000, signal: lost.signal })
    lost.abort()
    await expect(pending).rejects.toMatchObject({
      code: 'broker-unavailable',
      message:
        'cannot read: the Redis connection was lost with the command in flight; retry shortly',
    })
    const already = withDeadline(never, { what: 'read', ms: 10_000, signal: lost.signal })
    await expect(already).rejects.toMatchObject({ code: 'broker-unavailable' })
  })

  it('keeps a RedisseError of the call and wraps any other failure, with its cause', async () => {
    const own = new RedisseError('invalid-channel', 'bad')
    await expect(withDeadline(Promise.reject(own), { what: 'x', ms: 50 })).rejects.toBe(own)
    const cause = new Error('Command timed out')
    const err = await withDeadline(Promise.reject(cause), { what: 'x', ms: 50 }).catch((e) => e)
    expect(err).toMatchObject({ code: 'broker-unavailable', cause })
  })
})
