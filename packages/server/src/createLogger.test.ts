import { describe, expect, it } from 'vitest'
import { createLogger, redact } from './createLogger'

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, message and fields', () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l) })
    logger.debug('hidden')
    logger.info('stream opened', { conn: 1, mode: 'token' })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'info',
      msg: 'stream opened',
      conn: 1,
      mode: 'token',
    })
  })

  it('redacts tokens and keys from messages, string fields and errors', () => {
    const lines: string[] = []
    const logger = createLogger({ write: (l) => lines.push(l) })
    logger.warn('GET /?channel=a&access_token=s3cr3t-token&x=1', {
      auth: 'Bearer s3cr3t-token',
      err: new Error('bad url /?token=s3cr3t-token'),
    })
    expect(lines.join('\n')).not.toContain('s3cr3t-token')
    expect(lines[0]).toContain('access_token=[redacted]&x=1')
  })

  it('redacts access_token, token and key parameters and bearer values', () => {
    expect(redact('/?access_token=abc')).toBe('/?access_token=[redacted]')
    expect(redact('/publish?key=abc&channel=x')).toBe('/publish?key=[redacted]&channel=x')
    expect(redact('authorization: Bearer abc.def')).toBe('authorization: Bearer [redacted]')
  })
})
