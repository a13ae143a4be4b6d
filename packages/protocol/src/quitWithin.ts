/**
 * Closes an ioredis client (standalone or Cluster) within `ms`: QUIT lets
 * the answers of commands already sent arrive first, but a Redis that does
 * not answer must not hold a `close()` forever, so after `ms` (or once QUIT
 * is answered) the connection is dropped.
 */
export async function quitWithin(
  client: { quit(): Promise<unknown>; disconnect(): void },
  ms: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    client.quit().catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms)
    }),
  ])
  clearTimeout(timer)
  client.disconnect()
}
