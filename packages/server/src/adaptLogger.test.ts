import { Writable } from 'node:stream'
import { openSse } from '@redisse/test-utils'
import { pino } from 'pino'
import { expect, it } from 'vitest'
import { createServer } from './createServer'

it('logs through a pino logger given as it is: message as msg, fields as fields', async () => {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  const server = createServer({
    channels: () => ['news'],
    logger: pino({ level: 'info' }, destination),
  })
  const { url } = await server.listen(0, '127.0.0.1')
  const stream = await openSse(`${url}/`)
  await stream.waitForComment('ok')
  const opened = lines.find((line) => line.msg === 'stream opened')
  expect(opened).toMatchObject({ level: 30, msg: 'stream opened', transport: 'sse', channels: 1 })
  stream.close()
  await server.close()
})
