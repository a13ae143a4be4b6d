/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** Structured logger: one JSON object per line. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

// Secrets that can ride in URLs or error text; they never reach a log line.
const SECRET_PARAMS = /([?&](?:access_token|token|key)=)[^&\s"]*/gi
const BEARER = /(bearer\s+)[^\s"]+/gi
// The password of `scheme://user:password@host` (a Redis or AMQP URL, a
// database URL in an app's error).
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)[^\s/@"]*@/gi

/** Replaces token values and URL passwords in any text with `[redacted]`. */
export function redact(text: string): string {
  return text
    .replace(SECRET_PARAMS, '$1[redacted]')
    .replace(BEARER, '$1[redacted]')
    .replace(URL_PASSWORD, '$1[redacted]@')
}

// Applied to every value of a line, nested ones included.
const redactValue = (_key: string, value: unknown): unknown =>
  typeof value === 'string' ? redact(value) : value instanceof Error ? redact(value.message) : value

/**
 * A logger writing JSON lines (`{"level","time","msg",...fields}`) to
 * `write`, dropping lines below `level`. Every string field is redacted.
 * @defaultValue level `'info'`, write to stdout
 */
export function createLogger(
  options: { level?: LogLevel; write?: (line: string) => void } = {},
): Logger {
  const min = RANK[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const log =
    (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return
      const entry: Record<string, unknown> = {
        level,
        time: new Date().toISOString(),
        msg: redact(msg),
      }
      for (const [k, v] of Object.entries(fields ?? {})) entry[k] = v
      write(JSON.stringify(entry, redactValue))
    }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}
