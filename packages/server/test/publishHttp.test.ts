import { createPublisher } from '@redisse/publisher'
import { describe, expect, it } from 'vitest'
import { BROKERS, call, startServer } from './harness'

const KEY = 'test-publish-key'

function post(url: string, body: unknown, key: string | null = KEY) {
  return call(`${url}/publish`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

describe.each(BROKERS)('POST /publish on the %s broker', (kind) => {
  it('publishes one event and a batch, in order, returning their ids', async () => {
    await using srv = await startServer(kind, { public: true, publishKey: KEY })
    const stream = await srv.open('/?channel=news')
    const one = await post(srv.url, { channel: 'news', type: 'headline', data: { n: 1 } })
    expect(one.status).toBe(200)
    const batch = await post(srv.url, {
      events: [
        { channel: 'news', type: 'headline', data: { n: 2 } },
        { channel: 'news', type: 'headline', data: { n: 3 } },
      ],
    })
    const ids = [(one.body as { id: string }).id, ...(batch.body as { ids: string[] }).ids]
    const events = await stream.waitForEvents(3)
    expect(events.map((e) => e.id)).toEqual(ids)
    expect(events.map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}'])
  })

  it('works through createPublisher({ url, key }), subjects included', async () => {
    await using srv = await startServer(kind, { tokens: true, publishKey: KEY })
    const pub = createPublisher<{ message: { text: string } }>({ url: srv.url, key: KEY })
    const user = pub.subject('ann')
    const token = await user.generateToken()
    await user.addChannel('room:1')
    expect(await user.channels()).toEqual(['room:1'])
    const stream = await srv.open(`/?access_token=${token}`)
    const id = await pub.publish('room:1', 'message', { text: 'over http' })
    const [event] = await stream.waitForEvents(1)
    expect([event?.id, event?.data]).toEqual([id, '{"text":"over http"}'])
    await user.clear()
    await stream.ended
    await pub.close()
  })

  it('refuses without a key (401), with a wrong key (403), and is off without publishKey (404)', async () => {
    await using srv = await startServer(kind, { public: true, publishKey: KEY })
    const event = { channel: 'a', type: 't', data: 1 }
    expect((await post(srv.url, event, null)).status).toBe(401)
    const wrong = await post(srv.url, event, 'wrong-key-123')
    expect(wrong.status).toBe(403)
    expect(wrong.body).toMatchObject({ error: { code: 'forbidden' } })
    await using off = await startServer(kind, { public: true })
    expect((await post(off.url, event)).status).toBe(404)
  })

  it('answers 400 with a reason for malformed JSON, invalid names and reserved types', async () => {
    await using srv = await startServer(kind, { public: true, publishKey: KEY })
    const cases: Array<[unknown, string]> = [
      ['{not json', 'invalid-json'],
      [{ channel: 'a b', type: 't', data: 1 }, 'invalid-channel'],
      [{ channel: 'a', type: 'x\ny', data: 1 }, 'invalid-event-type'],
      [{ channel: 'a', type: 'redisse:reset', data: 1 }, 'reserved-event-type'],
      [{ channel: 'a', type: 't' }, 'invalid-body'],
      [
        {
          events: [
            { channel: 'a', type: 't', data: 1 },
            { channel: '', type: 't', data: 1 },
          ],
        },
        'invalid-channel',
      ],
    ]
    for (const [body, code] of cases) {
      const res = await post(srv.url, body)
      expect([res.status, (res.body as { error: { code: string } }).error.code]).toEqual([
        400,
        code,
      ])
    }
    expect(srv.server.stats().events.published).toBe(0)
  })

  it('answers 413 for a payload over limits.payloadBytes and a body over limits.bodyBytes', async () => {
    await using srv = await startServer(kind, {
      public: true,
      publishKey: KEY,
      limits: { payloadBytes: 100, bodyBytes: 1000 },
    })
    const big = await post(srv.url, { channel: 'a', type: 't', data: 'x'.repeat(200) })
    expect([big.status, (big.body as { error: { code: string } }).error.code]).toEqual([
      413,
      'payload-too-large',
    ])
    const huge = await post(srv.url, { channel: 'a', type: 't', data: 'x'.repeat(2000) })
    expect(huge.status).toBe(413)
  })

  it('creates a token from a POST without a body', async () => {
    await using srv = await startServer(kind, { tokens: true, publishKey: KEY })
    const res = await call(`${srv.url}/subjects/bob/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
    })
    expect(res.status).toBe(201)
    expect((res.body as { token: string }).token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
