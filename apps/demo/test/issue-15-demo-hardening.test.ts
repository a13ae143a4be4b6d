import { createHmac } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@redisse/client'
import { createKeys } from '@redisse/protocol'
import { createPublisher } from '@redisse/publisher'
import { openSse, uniquePrefix, waitFor } from '@redisse/test-utils'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createDemoServer, type DemoServer } from '../src/server/createDemoServer'
import type { Me } from '../src/shared/api'
import type { ChatEvents } from '../src/shared/events'

// Issue 15: the demo's static files, kick endpoint, default secret and
// per-request tokens.

const servers: DemoServer[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function start(options: Parameters<typeof createDemoServer>[0] = {}) {
  const server = await createDemoServer({
    port: 0,
    host: '127.0.0.1',
    prefix: uniquePrefix(),
    redissePrefix: uniquePrefix(),
    ...options,
  })
  servers.push(server)
  return server
}

/** GET with the path sent exactly as given (fetch would normalise it). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/`, { path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function signIn(server: DemoServer, name: string) {
  const res = await fetch(`${server.url}/api/session`, {
    method: 'POST',
    body: JSON.stringify({ name }),
  })
  return ((await res.json()) as { session: string }).session
}

async function api(
  server: DemoServer,
  session: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${session}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('serveStatic', () => {
  it('serves files under the web root only, never from a sibling directory sharing its prefix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-static-'))
    try {
      await mkdir(join(dir, 'web'))
      await mkdir(join(dir, 'web-evil'))
      await writeFile(join(dir, 'web', 'index.html'), '<p>index</p>')
      await writeFile(join(dir, 'web', 'app.js'), 'console.log(1)')
      await writeFile(join(dir, 'web-evil', 'secret.txt'), 'TOP SECRET')
      await writeFile(join(dir, 'web-evil', 'x.js'), 'TOP SECRET')
      const server = await start({ webRoot: join(dir, 'web') })
      expect(await rawGet(server.url, '/app.js')).toEqual({ status: 200, body: 'console.log(1)' })
      for (const path of [
        '/..%2Fweb-evil%2Fsecret.txt',
        '/..%2fweb-evil%2fx.js',
        '/%2e%2e%2Fweb-evil%2Fsecret.txt',
        '/../web-evil/secret.txt',
      ]) {
        const res = await rawGet(server.url, path)
        expect(res.body, path).not.toContain('TOP SECRET')
        expect(res).toEqual({ status: 200, body: '<p>index</p>' })
      }
      expect((await rawGet(server.url, '/%E0%A4%A')).status).toBe(400)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('the kick endpoint', () => {
  it('answers 400 for an invalid user name or a malformed %-encoding, before changing anything', async () => {
    const server = await start()
    const ann = await signIn(server, 'ann')
    const bob = await signIn(server, 'bob')
    await api(server, ann, 'GET', '/api/me')
    await api(server, bob, 'GET', '/api/me')
    await api(server, ann, 'POST', '/api/rooms', { name: 'Secret', private: true })
    await api(server, ann, 'POST', '/api/rooms/secret/members', { user: 'bob' })
    for (const kicked of ['bad%20name', 'a%3Ab', 'x'.repeat(21), '%E0%A4%A']) {
      const res = await api(server, ann, 'DELETE', `/api/rooms/secret/members/${kicked}`)
      expect(res.status, kicked).toBe(400)
    }
    // Nothing changed: bob is still a member and still reads the room.
    const read = await api(server, bob, 'GET', '/api/rooms/secret/messages')
    expect(read.status).toBe(200)
    const kick = await api(server, ann, 'DELETE', '/api/rooms/secret/members/bob')
    expect(kick).toEqual({ status: 200, body: { members: ['ann'] } })
  })
})

describe('sessions without DEMO_SECRET', () => {
  it('are signed with a secret of this process: another node refuses them, and a session forged with the old fixed default is refused', async () => {
    const a = await start()
    const b = await start()
    const session = await signIn(a, 'ann')
    expect((await api(a, session, 'GET', '/api/me')).status).toBe(200)
    expect((await api(b, session, 'GET', '/api/me')).status).toBe(401)
    const forged = `ann.${createHmac('sha256', 'redisse-demo-secret').update('ann').digest('base64url')}`
    expect((await api(a, forged, 'GET', '/api/me')).status).toBe(401)
  })

  it('with one DEMO_SECRET, every node accepts the session', async () => {
    const a = await start({ secret: 'shared-secret-of-the-chat' })
    const b = await start({ secret: 'shared-secret-of-the-chat' })
    const session = await signIn(a, 'ann')
    expect((await api(b, session, 'GET', '/api/me')).status).toBe(200)
  })
})

describe.each([
  ['the embedded broker', () => undefined],
  ['Redis', () => inject('redisUrl')],
])('the token of GET /api/me on %s', (_, redisUrl) => {
  it('is the same one on every call while it is valid, so 300 calls store one token', async () => {
    const redissePrefix = uniquePrefix()
    const server = await start({ redis: redisUrl(), redissePrefix })
    const ann = await signIn(server, 'ann')
    const tokens = new Set<string>()
    for (let i = 0; i < 300; i++) {
      tokens.add(((await api(server, ann, 'GET', '/api/me')).body as unknown as Me).token)
    }
    expect(tokens.size).toBe(1)
    const url = redisUrl()
    if (url) {
      const redis = new Redis(url)
      try {
        expect(await redis.scard(createKeys(redissePrefix).subjectTokens('ann'))).toBe(1)
      } finally {
        redis.disconnect()
      }
    }
    const [token] = tokens
    const stream = await openSse(`${server.url}/events?access_token=${token}`)
    expect(stream.status).toBe(200)
    stream.close()
  })

  it('is a new one once the old one passed half its life', async () => {
    const server = await start({ redis: redisUrl(), tokenTtl: 400 })
    const ann = await signIn(server, 'ann')
    const me = async () => ((await api(server, ann, 'GET', '/api/me')).body as unknown as Me).token
    const first = await me()
    expect(await me()).toBe(first)
    await new Promise((r) => setTimeout(r, 220))
    const second = await me()
    expect(second).not.toBe(first)
    expect(await me()).toBe(second)
  })
})

describe('the token of GET /api/me on Redis, revoked', () => {
  it('is replaced by a new, working one', async () => {
    const redissePrefix = uniquePrefix()
    const server = await start({ redis: inject('redisUrl'), redissePrefix })
    const ann = await signIn(server, 'ann')
    const me = async () => ((await api(server, ann, 'GET', '/api/me')).body as unknown as Me).token
    const first = await me()
    const pub = createPublisher({ redis: inject('redisUrl'), prefix: redissePrefix })
    try {
      expect(await pub.subject('ann').revokeToken(first)).toBe(true)
    } finally {
      await pub.close()
    }
    const second = await me()
    expect(second).not.toBe(first)
    const stream = await openSse(`${server.url}/events?access_token=${second}`)
    expect(stream.status).toBe(200)
    stream.close()
  })
})

describe('a page whose token expires', () => {
  it('has its stream ended by the server, gets a new token through onAuthError and hears what follows', async () => {
    const server = await start({ tokenTtl: 1000 })
    const ann = await signIn(server, 'ann')
    const me = async () => ((await api(server, ann, 'GET', '/api/me')).body as unknown as Me).token
    const first = await me()
    const handed: string[] = []
    const client = createClient<ChatEvents>(`${server.url}/events`, {
      token: first,
      // The poll answered at expiry is followed at once by one that gets
      // 401; an SSE reconnect would first wait the server's retry (5 s).
      transport: 'poll',
      onAuthError: async () => {
        const fresh = await me()
        handed.push(fresh)
        return fresh
      },
    })
    try {
      const texts: string[] = []
      client.on('message', (data) => texts.push(data.text))
      await waitFor(() => client.state === 'open', { what: 'the stream open' })
      await waitFor(() => handed.length === 1 && client.state === 'open', {
        timeout: 4000,
        what: 'a new token after expiry, and the stream open again',
      })
      expect(handed[0]).not.toBe(first)
      await api(server, ann, 'POST', '/api/rooms/general/messages', { text: 'after expiry' })
      await waitFor(() => texts.includes('after expiry'), { what: 'the message after expiry' })
    } finally {
      client.close()
    }
  })
})

// Issue 15, item 11: the demo's stats name who is in which private room.
describe('GET /events/stats and /events/metrics', () => {
  it('are not served without DEMO_STATS_KEY, even to a signed-in user', async () => {
    const server = await start()
    const session = await signIn(server, 'ann')
    for (const path of ['/events/stats', '/events/metrics']) {
      const anonymous = await fetch(`${server.url}${path}`)
      const signedIn = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${session}` },
      })
      for (const res of [anonymous, signedIn]) {
        const text = await res.text()
        expect(res.status).not.toBe(200)
        expect(text).not.toContain('room:')
        expect(text).not.toContain('ann')
      }
    }
  })

  it('are served to the bearer of DEMO_STATS_KEY only', async () => {
    const server = await start({ statsKey: 'demo-stats-key-1' })
    expect((await fetch(`${server.url}/events/stats`)).status).toBe(401)
    const res = await fetch(`${server.url}/events/stats`, {
      headers: { authorization: 'Bearer demo-stats-key-1' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ connections: 0 })
  })
})
