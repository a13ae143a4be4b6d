import type { Logger } from './createLogger'

/** The part of a pino logger Redisse uses: methods take `(fields, message)`. */
export interface PinoLikeLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
  bindings(): object
  levels: { values: Record<string, number> }
}

function isPinoLike(logger: Logger | PinoLikeLogger): logger is PinoLikeLogger {
  const candidate = logger as Partial<PinoLikeLogger>
  // pino (and its child loggers) have bindings() and a levels table; a
  // `(message, fields)` logger such as winston or ours has neither.
  return (
    typeof candidate.bindings === 'function' &&
    typeof candidate.levels === 'object' &&
    candidate.levels !== null &&
    typeof candidate.levels.values === 'object'
  )
}

/**
 * A {@link Logger} from what the `logger` option got: a pino logger as it
 * is (its `(fields, message)` order), or a `(message, fields)` logger.
 */
export function adaptLogger(logger: Logger | PinoLikeLogger): Logger {
  if (!isPinoLike(logger)) return logger
  const pino = logger
  return {
    debug: (message, fields) => pino.debug(fields ?? {}, message),
    info: (message, fields) => pino.info(fields ?? {}, message),
    warn: (message, fields) => pino.warn(fields ?? {}, message),
    error: (message, fields) => pino.error(fields ?? {}, message),
  }
}
