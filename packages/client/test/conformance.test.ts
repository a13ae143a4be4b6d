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
    it('takes retry values of ASCII digits only as the reconnection base (format-field-retry, format-field-retry-bogus)', async () => {
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
    it('stops for good on HTTP 204 (request-status-error)', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/status/204`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([['closed', 'no-content']])
      await new Promise((r) => setTimeout(r, 50))
      expect(server.requests).toHaveLength(transport.probes ? 2 : 1)
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
      expect(server.requests).toHaveLength(transport.probes ? 6 : 3)
      expect((states[0]?.info.error as ClientError | undefined)?.status).toBe(500)
    })

    // WPT request-status-error: 205, 210, 299, 404 and 410 fail the
    // connection for good (its 503 is retried here: the client's policy).
    it.each([
      [205, 'internal'],
      [210, 'internal'],
      [299, 'internal'],
      [404, 'not-found'],
      [410, 'gone'],
    ])('fails for good on HTTP %i, with code %s (request-status-error)', async (status, code) => {
      await using server = await startConformanceServer()
      // `bare`: a body that is not Redisse's JSON error, so the code comes from the status.
      const client = createClient(`${server.url}/status/${status}?bare=1`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([['closed', 'http-error']])
      expect(states[0]?.info.error).toMatchObject({ name: 'RedisseError', status, code })
      expect(server.requests).toHaveLength(transport.probes ? 2 : 1)
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
      expect(states[0]?.info.error).toMatchObject({ code: 'invalid-response' })
    })

    it('follows a redirect to the stream (request-redirect)', async () => {
      await using server = await startConformanceServer()
      for (const code of [301, 302, 303, 307, 308]) {
        const client = createClient<{ message: string }>(`${server.url}/redirect/${code}`, {
          ...transport.options,
          reconnect: false,
        })
        const got: string[] = []
        client.on('message', (data) => got.push(data))
        try {
          await until(() => got.length >= 1, `the welcome event after a ${code}`)
        } finally {
          client.close()
        }
      }
    })

    it('resumes after an id beyond Latin-1, sent back as browsers send it (UTF-8)', async () => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(`${server.url}/unicode`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 2, `two events (got ${got})`)
      } finally {
        client.close()
      }
      expect(got).toEqual(['first', 'back'])
      expect(states.filter((s) => s.info.reason === 'network-error')).toEqual([])
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
      // The eventsource transport asks once more with the stale token, to learn the status.
      const stale = transport.probes ? 2 : 1
      expect(server.requests.map((r) => r.token).slice(0, stale + 1)).toEqual([
        ...Array(stale).fill('stale'),
        'good',
      ])
      expect(new Set(server.requests.slice(stale).map((r) => r.token))).toEqual(new Set(['good']))
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

describe.each(TRANSPORTS.filter((t) => t.probes && t.speaksSse))(
  'statuses a browser hides, over the $name transport',
  (transport) => {
    it('waits for Retry-After on 429, learnt by one fetch of the same URL', async () => {
      await using server = await startConformanceServer()
      // Two 429s: the stream request and the probe that learns its status.
      const client = createClient<{ message: string }>(`${server.url}/busy?times=2`, {
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
        info: { reason: 'http-error', delay: 1000, attempt: 1, error: { status: 429 } },
      })
      expect(server.requests).toHaveLength(3)
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

// Derived from web-platform-tests eventsource/format-mime-*, request-accept,
// request-cache-control and format-data-before-final-empty-line, for the
// transports that read the SSE response themselves.
describe.each(TRANSPORTS.filter((t) => t.parsesStream))(
  'WPT format and request cases over the $name transport',
  (transport) => {
    it.each([
      ['text/event-stream;', 'format-mime-trailing-semicolon'],
      ['text/event-stream;charset=bogus', 'format-mime-valid-bogus'],
    ])('takes content type %s as an event stream (%s)', async (type) => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(
        `${server.url}/mime?type=${encodeURIComponent(type)}`,
        { ...transport.options, reconnect: false },
      )
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 1, 'the welcome event')
      } finally {
        client.close()
      }
    })

    it('fails for good on a bogus content type (format-mime-bogus)', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/mime?type=text%2Fx-bogus`, {
        ...transport.options,
        reconnect: { delay: 10 },
      })
      const states = recordStates(client)
      const got: unknown[] = []
      client.on('message', (data) => got.push(data))
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([
        ['closed', 'invalid-content-type'],
      ])
      expect(got).toEqual([])
    })

    it('asks for text/event-stream and no cached answer (request-accept, request-cache-control)', async () => {
      await using server = await startConformanceServer()
      const client = createClient<{ message: string }>(`${server.url}/headers`, {
        ...transport.options,
        json: false,
        reconnect: false,
      })
      const got: string[] = []
      client.on('message', (data) => got.push(data))
      try {
        await until(() => got.length === 1, 'the headers event')
      } finally {
        client.close()
      }
      const headers = JSON.parse(JSON.parse(got[0] as string)) as Record<string, string>
      expect(headers.accept).toBe('text/event-stream')
      // fetch's `cache: 'no-store'` makes the runtime add it, as a browser's EventSource does.
      expect(headers['cache-control']).toBe('no-cache')
    })

    it('drops a block the stream ends before its blank line (format-data-before-final-empty-line)', async () => {
      await using server = await startConformanceServer()
      const client = createClient(`${server.url}/unfinished`, {
        ...transport.options,
        json: false,
        reconnect: { delay: 10 },
      })
      const got: string[] = []
      let ended = false
      client.on('message', (data) => got.push(data as string))
      client.on(END_EVENT.type, () => {
        ended = true
      })
      try {
        await until(() => ended, `the end event (got ${got})`)
      } finally {
        client.close()
      }
      expect(got).toEqual(['1'])
    })
  },
)

describe.each(TRANSPORTS.filter((t) => t.seesRetryField))(
  'bounded reading over the $name transport',
  (transport) => {
    it('closes with reason too-large on a line that never ends, its memory bounded', async () => {
      await using server = await startConformanceServer()
      const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
      let sent = 0
      const client = createClient(`${server.url}/silent`, {
        ...transport.options,
        reconnect: { delay: 10 },
        fetch: async () =>
          new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(new TextEncoder().encode('data: '))
              },
              pull(controller) {
                // A hostile server: 64 KiB after 64 KiB, never a line break.
                sent += chunk.length
                controller.enqueue(chunk)
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      })
      const states = recordStates(client)
      await until(() => client.state === 'closed', 'state closed')
      expect(states.map((s) => [s.state, s.info.reason])).toEqual([
        ['open', undefined],
        ['closed', 'too-large'],
      ])
      expect(states[1]?.info.error).toMatchObject({ code: 'payload-too-large' })
      // Stopped right past the bound (4 Mi characters), not at the end of the stream.
      expect(sent).toBeLessThan(5 * 1024 * 1024)
    })
  },
)
