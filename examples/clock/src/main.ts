import { createClockServer } from './createClockServer'

const port = Number(process.env.PORT ?? 4243)
const server = await createClockServer({ port, host: process.env.HOST ?? '127.0.0.1' })
console.log(`clock on ${server.url}/sse.html and ${server.url}/websocket.html`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)))
}
