import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoServer, type DemoServer } from '../src/server/createDemoServer'

/** Sends one raw request and resolves with the status of the answer (0 when none came). */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let text = ''
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0))
    }
    const timer = setTimeout(done, 3000)
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (text.includes('\r\n\r\n')) done()
    })
    socket.on('close', done)
  })
}

const get = (target: string, headers = '') =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`
const UPGRADE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

describe('the demo under malformed request targets', () => {
  let demo: DemoServer
  beforeAll(async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'demo-web-'))
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>demo</title>')
    demo = await createDemoServer({ port: 0, host: '127.0.0.1', webRoot })
  })
  afterAll(() => demo.close())

  it.each([
    '/events//a:99999/',
    '/events//[',
    '/events/\\a:99999/',
    '//a:99999/',
    '//[',
    'http://[',
    '/%zz',
    '/api/%E0%A4%A',
    '/api/rooms/%zz/members/x',
  ])('answers 400 to GET %s and keeps serving', async (target) => {
    expect(await rawStatus(demo.port, get(target))).toBe(400)
    expect((await fetch(`${demo.url}/events/healthz`)).status).toBe(200)
  })

  it.each(['/events//a:99999/', '/events//[', '/events/\\a:99999/'])(
    'refuses a WebSocket upgrade to %s with 400 and keeps serving',
    async (target) => {
      expect(await rawStatus(demo.port, get(target, UPGRADE))).toBe(400)
      expect((await fetch(`${demo.url}/events/healthz`)).status).toBe(200)
    },
  )
})
