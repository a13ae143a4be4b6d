import { describe, expect, test } from 'vitest'
import { httpError, httpFailure } from './httpFailure'

describe('httpFailure', () => {
  test("keeps the server's specific code from the JSON error body", async () => {
    const body = { error: { code: 'channel-required', message: 'ask for channels with ?channel=' } }
    const outcome = await httpFailure(new Response(JSON.stringify(body), { status: 400 }))
    expect(outcome).toMatchObject({
      kind: 'failed',
      status: 400,
      error: { code: 'channel-required', status: 400, message: 'ask for channels with ?channel=' },
    })
  })

  test.each([
    [400, 'invalid-request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [410, 'gone'],
    [413, 'payload-too-large'],
    [418, 'internal'],
  ])('names a %i without a Redisse body %s', async (status, code) => {
    const outcome = await httpFailure(new Response('<html>proxy</html>', { status }))
    expect(outcome).toMatchObject({ status, error: { code, message: `HTTP ${status}` } })
    expect(httpError(status, 'x').code).toBe(code)
  })
})
