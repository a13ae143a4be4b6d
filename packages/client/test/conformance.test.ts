import {
  CHUNKINGS,
  END_EVENT,
  type ExpectedEvent,
  PARSING_FIXTURES,
  startConformanceServer,
  waitFor,
} from '@redisse/test-utils'
import { describe, expect, it } from 'vitest'
import {
  type Client,
  type ClientError,
  type ClientState,
  createClient,
  type StateInfo,
} from '../src/index'
import { TRANSPORTS } from './transports'

function recordStates(client: Client) {
  const states: Array<{ state: ClientState; info: StateInfo }> = []
  client.onState((state, info) => states.push({ state, info }))
  return states
}

const until = (check: () => unknown, what: string) => waitFor(check, { timeout: 5000, what })

describe.each(TRANSPORTS.filter((t) => t.parsesStream))(
  'WHATWG stream parsing over the $name transport',
  (transport) => {
    describe.each(CHUNKINGS)('chunked %s', (chunking) => {
      const fixtures = PARSING_FIXTURES.map((fixture, index) => ({ ...fixture, index })).filter(
        (fixture) =>
          (fixture.requires !== 'id-buffer' || transport.exactIdBuffer) &&
          (fixture.requires !== 'split-bom' || transport.exactSplitBom),
      )
      it.each(fixtures)('$name', async ({ index, expected }) => {
        await using server = await startConformanceServer()
        const client = createClient(`${server.url}/parse/${index}?chunks=${chunking}`, {
          ...transport.options,
          json: false,
          reconnect: false,
        })
        const got: ExpectedEvent[] = []
        let ended = false
        for (const type of new Set([...expected.map((e) => e.type), 'message', 'custom'])) {
          client.on(type, (data, meta) => {
            got.push({ type: meta.type, data: data as string, id: meta.id ?? '' })
          })
        }
        client.on(END_EVENT.type, () => {
          ended = true
        })
        try {
          await until(() => ended, `the end event (got ${JSON.stringify(got)})`)
        } finally {
          client.close()
        }
        expect(got).toEqual(expected)
      })
    })
  },
)

describe.each(TRANSPORTS.filter((t) => t.seesRetryField))(
  'retry field over the $name transport',
  (transport) => {
    it('takes retry values of ASCII digits only as the reconnection base', async () => {
      await using server = await startConformanceServer()
      // The stream ends after the body, so the client schedules a reconnection
      // whose delay is drawn in [0, base]: an accepted `99999x` would make it huge.
      const client = createClient(`${server.url}/resume`, {
        ...transport.options,
        reconnect: { delay: 60_000 },
        fetch: async (input, init) => {
          const res = await fetch(input, init)
          const body = 'retry: 20\nretry: 99999x\nretry: 1 5\n\nid: 1\ndata: "e1"\n\n'
          return new Response(body, { status: res.status, headers: res.headers })
        },
      })
      const states = recordStates(client)
      try {
        await until(() => states.some((s) => s.state === 'reconnecting'), 'a reconnection')
      } finally {
        client.close()
      }
      const reconnecting = states.find((s) => s.state === 'reconnecting')
      expect(reconnecting?.info.reason).toBe('disconnected')
      expect(reconnecting?.info.delay).toBeLessThanOrEqual(20)
    })
  },
)

describe.each(TRANSPORTS.filter((t) => t.speaksSse))(
  'connection rules over the $name transport',
  (transport) => {
    it('stops for good on HTTP 204', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/status/204`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([['closed', 'no-content']])
      await new Promise((r) => setTimeout(r, 50))
      expect(server.requests).toHaveLength(1)
    })

    it('retries a 5xx answer with backoff', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/status/500`, {
        ...transport.options,
        reconnect: { delay: 10, maxAttempts: 2 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason, s.info.attempt])).toEqual([
        ['reconnecting', 'http-error', 1],
        ['reconnecting', 'http-error', 2],
        ['closed', 'max-attempts', 3],
      ])
      expect(server.requests).toHaveLength(3)
      expect((states[0]?.info.error as ClientError | undefined)?.status).toBe(500)
    })

    it('fails for good on another non-200 answer', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/status/404`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([['closed', 'http-error']])
      expect(server.requests).toHaveLength(1)
    })

    it('fails for good on a 200 that is not an event stream', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/html`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([
        ['closed', 'invalid-content-type'],
      ])
    })

    it('reconnects when the body ends and resumes after the last id, losing and repeating nothing', async () => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(`${server.url}/resume`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const got: string[] = []
      client.on('message', (data, meta) => got.push(`${meta.id}:${data}`))
      try {
        await until(() => got.length >= 3, `3 events (got ${got})`)
        await new Promise((r) => setTimeout(r, 50))
      } finally {
        client.close()
      }
      expect(got).toEqual(['1:e1', '2:e2', '3:e3'])
      expect(client.lastEventId).toBe('3')
      expect(server.requests.map((r) => r.lastEventId)).toEqual([undefined, '1', '2', '3'])
    })

    it('asks onAuthError for a fresh token on 401 and reconnects with it', async () => {
      await using server = await startConformanceServer()
      const authErrors: string[] = []
      const client = createClient<{ message: string }>(`${server.url}/auth`, {
        ...transport.options,
        token: 'stale',
        reconnect: { delay: 10 },
        onAuthError: (error) => {
          authErrors.push(`${error.status} ${error.code}`)
          return 'good'
        },
      })
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 1, 'the welcome event')
      } finally {
        client.close()
      }
      expect(got).toEqual(['welcome'])
      expect(authErrors).toEqual(['401 unauthorized'])
      // Poll goes on polling with the good token; a stream stays on one request.
      expect(server.requests.map((r) => r.token).slice(0, 2)).toEqual(['stale', 'good'])
      expect(new Set(server.requests.slice(1).map((r) => r.token))).toEqual(new Set(['good']))
    })

    it('closes on 401 when no fresh token comes', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/auth`, {
        ...transport.options,
        token: 'stale',
        reconnect: { delay: 10 },
        onAuthError: () => undefined,
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([['closed', 'unauthorized']])
    })

    it('evaluates async url and token factories on every attempt', async () => {
      await using server = await startConformanceServer()
      let calls = 0
      const client = createClient<{ message: string }>(
        async () => {
          calls += 1
          return `${server.url}/auth`
        },
        {
          ...transport.options,
          token: async () => (calls > 1 ? 'good' : 'bad'),
          reconnect: { delay: 10 },
          onAuthError: () => 'good',
        },
      )
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 1, 'the welcome event')
      } finally {
        client.close()
      }
      expect(calls).toBe(2)
    })
  },
)

describe.each(TRANSPORTS.filter((t) => t.seesHeaders))(
  'HTTP details over the $name transport',
  (transport) => {
    it('waits for Retry-After on 429', async () => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(`${server.url}/busy`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      const started = Date.now()
      try {
        await until(() => got.length === 1, 'the welcome event')
      } finally {
        client.close()
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(950)
      expect(states[0]).toMatchObject({
        state: 'reconnecting',
        info: { reason: 'http-error', delay: 1000, attempt: 1 },
      })
    })

    it('reconnects a stalled connection after stallFactor × keepAlive without a byte', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/silent`, {
        ...transport.options,
        keepAlive: 40,
        reconnect: { delay: 10, stallFactor: 2 },
      })
      const states = recordStates(client)
      try {
        await until(() => server.requests.length >= 2, 'a second request')
      } finally {
        client.close()
      }
      expect(states.find((s) => s.state === 'reconnecting')?.info.reason).toBe('stalled')
    })

    it('sends custom headers from an async factory', async () => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(`${server.url}/auth`, {
        ...transport.options,
        headers: async () => ({ authorization: 'Bearer good' }),
      })
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 1, 'the welcome event')
      } finally {
        client.close()
      }
      expect(client.transport).toBe(transport.name)
      expect(server.requests[0]?.token).toBe('good')
    })
  },
)
