import type { IncomingMessage } from 'node:http'
import { RedisseError } from '@redisse/protocol'

/**
 * Reads a JSON request body of at most `maxBytes`; an empty body is `undefined`.
 * @throws RedisseError `payload-too-large` (413) or `invalid-json` (400)
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBytes) {
    req.resume()
    throw new RedisseError(
      'payload-too-large',
      `request body over limits.bodyBytes (${maxBytes} bytes)`,
    )
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) {
      req.resume()
      throw new RedisseError(
        'payload-too-large',
        `request body over limits.bodyBytes (${maxBytes} bytes)`,
      )
    }
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new RedisseError(
      'invalid-json',
      `request body is not valid JSON: ${(cause as Error).message}`,
      { cause },
    )
  }
}
