import type { ServerContext } from './ServerContext'

/**
 * The context behind each server object, for the CLI's workers (which
 * answer `/stats` for the whole box) and nothing else: not exported from
 * the package, so it is no public API.
 */
export const serverContexts = new WeakMap<object, ServerContext>()
