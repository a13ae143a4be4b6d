import { RedisseError } from '@redisse/protocol'

/**
 * Imports `amqplib`, an optional peer dependency needed only by the AMQP
 * ingest (`amqp` option, `--amqp`): servers that do not consume AMQP never
 * load it, nor need it installed.
 */
export async function loadAmqplib(): Promise<typeof import('amqplib')> {
  try {
    return await import('amqplib')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RedisseError(
        'invalid-option',
        'the amqp option (--amqp) needs the amqplib package: npm install amqplib',
        { cause: err },
      )
    }
    throw err
  }
}
