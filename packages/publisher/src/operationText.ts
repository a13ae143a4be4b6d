import type { ErrorCode } from '@redisse/protocol'

/** Kind of operation sent to Redis or a server, for error codes and messages. */
export type Operation = 'publish' | 'change' | 'read'

/**
 * How to tell a caller about an operation that failed after it may have
 * been sent: its name, the error code, and what it means for a retry.
 */
export const operationText: Record<
  Operation,
  { noun: string; failure: ErrorCode; outcome: string }
> = {
  publish: {
    noun: 'publish',
    failure: 'publish-failed',
    outcome:
      'the event may or may not have been published; pass idempotencyKey to make retries safe',
  },
  change: {
    noun: 'subject change',
    failure: 'publish-failed',
    outcome: 'the change may or may not have been applied; subject changes are safe to retry',
  },
  read: {
    noun: 'read',
    failure: 'broker-unavailable',
    outcome: 'nothing was changed; retry',
  },
}
