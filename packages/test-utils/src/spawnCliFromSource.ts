import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `redisse-server` bin's TypeScript source. */
const CLI_SOURCE = fileURLToPath(new URL('../../server/src/cli.ts', import.meta.url))

/**
 * Starts `redisse-server` as a child process from its TypeScript source
 * (`packages/server/src/cli.ts`, run by the current Node through tsx with
 * the workspace's `@redisse/source` condition), as a user runs the bin but
 * without a build.
 * @param args the CLI's flags, e.g. `['--public', '--port', '4243']`
 * @param options `spawn` options; the caller sets `env` (the CLI reads
 * REDIS_URL, REDIS_CLUSTER, PORT… from it) and `stdio`
 * @example
 * ```ts
 * const child = spawnCliFromSource(['--public', '--port', String(port)], {
 *   env: { ...process.env, REDIS_URL: url },
 *   stdio: 'ignore',
 * })
 * ```
 */
export function spawnCliFromSource(
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=@redisse/source', '--import', 'tsx', CLI_SOURCE, ...args],
    options,
  )
}
