import type { ChainableCommander } from 'ioredis'

/** Runs a MULTI and turns a refused command inside it into an error. */
export async function execAll(tx: ChainableCommander): Promise<unknown[]> {
  const replies = await tx.exec()
  if (!replies) throw new Error('the MULTI transaction was aborted')
  return replies.map(([err, reply]) => {
    if (err) throw err
    return reply
  })
}
