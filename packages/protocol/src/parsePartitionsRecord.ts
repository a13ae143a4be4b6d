import { RedisseError } from './errors'
import { MAX_PARTITIONS } from './partitions'

/** Longest part of a corrupt record quoted in an error message, in characters. */
const QUOTED_LENGTH = 32

/** What servers write: a count from 1 to {@link MAX_PARTITIONS}, in plain decimal. */
const RECORD = /^[1-9][0-9]?$/

/** A bounded, escaped quote of text anyone could have written: no line break, no control character. */
function quote(text: string): string {
  if (text.length <= QUOTED_LENGTH) return JSON.stringify(text)
  return `${JSON.stringify(text.slice(0, QUOTED_LENGTH))}… (${text.length} characters)`
}

/**
 * The error for a record of the servers' partition count that no Redisse
 * server wrote: it stops servers and publishers alike until someone deletes it.
 * @param key the record, `keys.partitions`
 * @param found what it holds, already described (see {@link parsePartitionsRecord})
 */
function partitionsRecordInvalid(key: string, found: string, cause?: unknown): RedisseError {
  return new RedisseError(
    'partitions-record-invalid',
    `the record of the servers' partition count, ${key}, holds ${found} where servers write a count from 1 to ${MAX_PARTITIONS}: some other client wrote it; inspect it (redis-cli -c TYPE ${key}) and delete it (DEL ${key}), the servers running write it again`,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * Reads the record of the servers' partition count (`keys.partitions`) as
 * a GET answered it.
 * @returns the count, or `undefined` when there is no record (no server running)
 * @throws RedisseError `partitions-record-invalid` when it is not a count
 * from 1 to {@link MAX_PARTITIONS} in plain decimal (quoting at most 32
 * characters of it, escaped)
 * @example
 * ```ts
 * parsePartitionsRecord(await cluster.get(keys.partitions), keys.partitions) // 16
 * ```
 */
export function parsePartitionsRecord(recorded: string | null, key: string): number | undefined {
  if (recorded === null) return undefined
  const count = RECORD.test(recorded) ? Number(recorded) : 0
  if (count >= 1 && count <= MAX_PARTITIONS) return count
  throw partitionsRecordInvalid(key, quote(recorded))
}

/** True for the error Redis answers a GET of a key of another type (a hash, a list…), from a command or from inside a script. */
function isWrongTypeError(err: unknown): boolean {
  return err instanceof Error && /(^|: )WRONGTYPE /.test(err.message)
}

/**
 * What a failed read of the record of the servers' partition count
 * (`keys.partitions`) means: a key of another type there is a record no
 * server wrote, `partitions-record-invalid`; any other error is the read's
 * own, returned as it is.
 * @example
 * ```ts
 * const recorded = await cluster.get(keys.partitions).catch((err) => {
 *   throw partitionsRecordReadError(err, keys.partitions)
 * })
 * ```
 */
export function partitionsRecordReadError(err: unknown, key: string): unknown {
  return isWrongTypeError(err) ? partitionsRecordInvalid(key, 'a key of another type', err) : err
}
