import { describe, expect, it } from 'vitest'
import { createServer } from '../src/index'
import { call, startServer } from './harness'

describe('CORS', () => {
  it('echoes an allowed origin with credentials and Vary, and answers preflights', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      cors: { origin: ['https://app.example'], credentials: true },
    })
    const stream = await srv.open('/?channel=a', { origin: 'https://app.example' })
    expect(stream.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(stream.headers['access-control-allow-credentials']).toBe('true')
    expect(stream.headers.vary).toBe('Origin')
    const preflight = await call(`${srv.url}/`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-headers': 'last-event-id' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Last-Event-ID')
  })

  it('sends no CORS headers to an origin not on the list', async () => {
    await using srv = await startServer('embedded', {
      public: true,
      cors: { origin: 'https://app.example' },
    })
    const stream = await srv.open('/?channel=a', { origin: 'https://evil.example' })
    expect(stream.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('refuses a wildcard origin combined with credentials at start-up', () => {
    expect(() => createServer({ public: true, cors: { origin: '*', credentials: true } })).toThrow(
      /cannot be combined with cors.credentials/,
    )
  })
})
