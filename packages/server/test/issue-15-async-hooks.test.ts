import { openSse, openWs, waitFor } from '@redisse/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger, type PushHandler } from '../src/index'
import { call, startServer } from './harness'

// The push hooks are typed `void`, but an app's `async onOpen` (a database
// write, a publish while Redis is away) type-checks too. A rejection it
// returns must be logged like a throw: left unhandled, it ends the process.

const rejections: unknown[] = []
const onRejection = (reason: unknown) => rejections.push(reason)
beforeEach(() => {
  rejections.length = 0
  process.on('unhandledRejection', onRejection)
})
afterEach(() => {
  process.off('unhandledRejection', onRejection)
})

function failingHooks(): PushHandler {
  return {
    onOpen: async () => {
      throw new Error('onOpen failed')
    },
    onClose: async () => {
      throw new Error('onClose failed')
    },
    onMessage: async () => {
      throw new Error('onMessage failed')
    },
  }
}

describe.each(['sse', 'websocket', 'poll'] as const)(
  'async push hooks that reject, over %s',
  (transport) => {
    it('are logged, leave no unhandled rejection, and the stream carries on', async () => {
      const lines: string[] = []
      await using srv = await startServer('embedded', {
        public: true,
        push: failingHooks(),
        logger: createLogger({ level: 'error', write: (l) => lines.push(l) }),
      })
      if (transport === 'poll') {
        await srv.publish('a', 'm', 0)
        const res = await call(`${srv.url}/poll?channel=a&lastEventId=${encodeURIComponent('x-0')}`)
        expect(res.status).toBe(200)
      } else if (transport === 'sse') {
        const stream = await openSse(`${srv.url}/?channel=a`)
        await stream.waitForComment('ok')
        await srv.publish('a', 'm', 1)
        await stream.waitForEvents(1)
        stream.close()
      } else {
        const ws = await openWs(`${srv.url}/?channel=a`)
        await ws.waitForFrames(1)
        ws.send('hello')
        await srv.publish('a', 'm', 1)
        await ws.waitForFrames(1, 5000, (f) => f.type === 'm')
        ws.close()
      }
      const hooks =
        transport === 'websocket' ? ['onOpen', 'onMessage', 'onClose'] : ['onOpen', 'onClose']
      await waitFor(
        () => hooks.every((hook) => lines.some((l) => l.includes(`push.${hook} failed`))),
        {
          what: 'every failed hook logged',
        },
      )
      // A macrotask later, an unhandled rejection would have been reported.
      await new Promise((r) => setTimeout(r, 20))
      expect(rejections).toEqual([])
    })
  },
)
