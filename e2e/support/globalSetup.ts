import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Builds the demo's frontend once; every demo server of the run serves it. */
export default function globalSetup(): void {
  execFileSync('pnpm', ['--filter', '@redisse/demo', 'run', 'build', '--logLevel', 'warn'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: 'inherit',
  })
}
