import { withDeadline } from './broker/withDeadline'

/** Longest wait for one Redis read or the epoch replacement of a log guard, ms. */
export const GUARD_TIMEOUT = 2000

/** Bounds one read or write of a log guard, as every broker call is bounded. */
export const withGuardDeadline = <T>(promise: Promise<T>, what: string): Promise<T> =>
  withDeadline(promise, { what, ms: GUARD_TIMEOUT })
