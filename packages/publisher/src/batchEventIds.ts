import { formatEventId, parseScriptError, RedisseError } from '@redisse/protocol'

/**
 * The event ids of a published batch, from the replies of its transaction
 * (one `[error, cursor]` per event, in order), or the typed error of the
 * first event Redis or the publish script refused.
 */
export function batchEventIds(
  events: ReadonlyArray<{ channel: string }>,
  replies: ReadonlyArray<[Error | null, unknown]>,
): string[] {
  return events.map((event, i) => {
    const [err, cursor] = replies[i] ?? [new Error('no reply'), null]
    if (err) {
      const refusal = parseScriptError(err.message)
      if (refusal) {
        throw new RedisseError(
          refusal.code,
          `the publish script refused event ${i} of the batch: ${refusal.reason} (the other events of the batch were published)`,
          { cause: err },
        )
      }
      throw new RedisseError(
        'publish-failed',
        `Redis refused event ${i} of the batch: ${err.message} (the other events of the batch were published)`,
        { cause: err },
      )
    }
    return formatEventId(String(cursor), event.channel)
  })
}
