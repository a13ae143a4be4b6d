import { describe, expect, it } from 'vitest'
import { call, startServer } from './harness'
import { rawExchange, rawGet } from './liveCli'

const KEY = 'publish-key-for-codes'
const json = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }

/**
 * Issue 17: the catch-all `invalid-request` is split into codes a program
 * can act on; each answer stays a 400 with the `{ error: { code, message } }`
 * body, and the message still says what to change.
 */
describe('specific 400 codes', () => {
  it.each([
    ['a body that is not JSON', '/publish', '{not json', 'invalid-json'],
    ['an event without data', '/publish', '{"channel":"a","type":"t"}', 'invalid-body'],
    ['an empty events batch', '/publish', '{"events":[]}', 'invalid-body'],
    [
      'a bad idempotency key',
      '/publish',
      '{"channel":"a","type":"t","data":1,"idempotencyKey":"a b"}',
      'invalid-idempotency-key',
    ],
    ['a token ttl of 0', '/subjects/u/tokens', '{"ttl":0}', 'invalid-ttl'],
    ['an empty token to revoke', '/subjects/u/tokens/revoke', '{"token":""}', 'invalid-token'],
    ['a subject with a space', '/subjects/a%20b/tokens', '{}', 'invalid-subject'],
    ['a bad %-encoding in the path', '/subjects/%ZZ/tokens', '{}', 'malformed-target'],
  ])('answers %s with 400 %s', async (_name, path, body, code) => {
    await using srv = await startServer('embedded', { tokens: true, publishKey: KEY })
    const res = await call(srv.url + path, { method: 'POST', headers: json, body })
    expect([res.status, res.body]).toEqual([
      400,
      { error: { code, message: expect.stringMatching(/\w/) } },
    ])
  })

  it('answers a public-mode stream without ?channel= with 400 channel-required', async () => {
    await using srv = await startServer('embedded', { public: true })
    const res = await call(`${srv.url}/poll`)
    expect([res.status, res.body]).toEqual([
      400,
      { error: { code: 'channel-required', message: expect.stringContaining('?channel=') } },
    ])
  })

  it('answers a long poll pipelined behind another request with 400 pipelined-request', async () => {
    await using srv = await startServer('embedded', { public: true })
    const port = Number(new URL(srv.url).port)
    const reply = await rawExchange(port, rawGet('/healthz') + rawGet('/poll?channel=a'), {
      until: (t) => t.includes('pipelined-request'),
    })
    expect(reply.text).toMatch(/HTTP\/1\.1 400[\s\S]*"code":"pipelined-request"/)
  })
})
