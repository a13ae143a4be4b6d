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

  it('redacts the password of URLs with credentials (Redis, AMQP, a database in an app error)', () => {
    expect(redact('connect redis://default:hunter2@10.0.0.1:6379/0 failed')).toBe(
      'connect redis://default:[redacted]@10.0.0.1:6379/0 failed',
    )
    expect(redact('rediss://:hunter2@cache:6380')).toBe('rediss://:[redacted]@cache:6380')
    expect(redact('amqp://app:p%40ss@mq/vhost')).toBe('amqp://app:[redacted]@mq/vhost')
    expect(redact('postgres://app:hunter2@db/app and redis://nopass@host')).toBe(
      'postgres://app:[redacted]@db/app and redis://nopass@host',
    )
  })

  it('redacts secrets in nested fields and error causes too, and the line stays JSON', () => {
    const lines: string[] = []
    const logger = createLogger({ write: (l) => lines.push(l) })
    logger.error('cannot subscribe', {
      err: new Error('NOAUTH at redis://u:hunter2@h:1'),
      detail: { url: 'redis://u:hunter2@h:1', nested: ['/?access_token=s3cr3t-token"x'] },
    })
    expect(lines.join('\n')).not.toContain('hunter2')
    expect(lines.join('\n')).not.toContain('s3cr3t-token')
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      detail: { url: 'redis://u:[redacted]@h:1', nested: ['/?access_token=[redacted]"x'] },
    })
  })
})
