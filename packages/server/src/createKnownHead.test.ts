import { describe, expect, it } from 'vitest'
import type { Broker } from './broker/Broker'
import { createEmbeddedBroker } from './broker/createEmbeddedBroker'
import { createKnownHead } from './createKnownHead'

/** A real embedded log whose head reads are counted. */
function countedLog() {
  const log = createEmbeddedBroker()
  let reads = 0
  const broker: Broker = {
    ...log,
    head: () => {
      reads += 1
      return log.head()
    },
  }
  return { log, broker, reads: () => reads }
}

const epochOf = (id: string) => id.slice(0, id.indexOf('-'))

describe('createKnownHead', () => {
  it('reads once per subscription of a channel, then answers from what the bus delivered', async () => {
    const { log, broker, reads } = countedLog()
    const known = createKnownHead({ broker, live: () => true })
    const id = await log.publish({ channel: 'a', type: 'm', data: 1 })
    known.heard('a')
    expect(await known.headFor(['a'])).toEqual({ epoch: epochOf(id), seq: 1 })
    known.seen(epochOf(id), 7)
    expect(await known.headFor(['a'])).toEqual({ epoch: epochOf(id), seq: 7 })
    expect(reads()).toBe(1)
    // A channel heard since, and one heard again after its last listener left, are read.
    known.heard('b')
    await known.headFor(['a', 'b'])
    known.unheard('a')
    known.heard('a')
    await known.headFor(['a'])
    expect(reads()).toBe(3)
    await log.close()
  })

  it('reads again after the bus was lost, and while the node is not live', async () => {
    const { log, broker, reads } = countedLog()
    let live = true
    const known = createKnownHead({ broker, live: () => live })
    await log.publish({ channel: 'a', type: 'm', data: 1 })
    known.heard('a')
    await known.headFor(['a'])
    live = false
    await known.headFor(['a'])
    live = true
    known.forget()
    await known.headFor(['a'])
    await known.headFor(['a'])
    expect(reads()).toBe(3)
    await log.close()
  })

  it('anchors nothing from a read that a bus loss or another epoch overtook', async () => {
    const { log, broker, reads } = countedLog()
    const known = createKnownHead({ broker, live: () => true })
    const id = await log.publish({ channel: 'a', type: 'm', data: 1 })
    known.heard('a')
    const straddling = known.headFor(['a'])
    known.forget()
    await straddling
    await known.headFor(['a'])
    expect(reads()).toBe(2)
    // The node heard another epoch than the one the read finds: the hub must see it first.
    known.forget()
    known.seen('other', 3)
    expect(await known.headFor(['a'])).toEqual({ epoch: epochOf(id), seq: 1 })
    await known.headFor(['a'])
    expect(reads()).toBe(4)
    await log.close()
  })
})
