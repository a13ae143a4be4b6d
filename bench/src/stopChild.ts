import type { ChildProcess } from 'node:child_process'

/**
 * Asks a child process to stop (`ask`: a signal or a message), and kills it
 * when it has not exited within `graceMs`.
 */
export function stopChild(child: ChildProcess, ask: () => void, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve()
      return
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    ask()
  })
}
