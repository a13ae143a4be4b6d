import type { EventFrame } from '@redisse/protocol'
import { describe, expect, it } from 'vitest'
import { createEmbeddedBroker } from './broker/createEmbeddedBroker'
import { Connection, type ConnectionHost } from './Connection'
import { createHub } from './createHub'
import { createLogger } from './createLogger'
import type { OutgoingEvent } from './OutgoingEvent'
import type { CloseReason } from './PushHandler'

/** A transport whose keep-alive write throws (a custom or broken one). */
class ThrowingHeartbeat extends Connection {
  readonly transport = 'sse' as const
  beats = 0
  get pending() {
    return 0
  }
  protected writeEvent(_event: OutgoingEvent) {
    return true
  }
  protected writeFrame(_frame: EventFrame) {
    return true
  }
  heartbeat() {
    this.beats += 1
    throw new Error('write after end')
  }
  protected end(_reason: CloseReason) {}
}

describe('createHub keep-alive sweep', () => {
  it('closes a connection whose keep-alive throws, and keeps sweeping the others', async () => {
    const lines: string[] = []
    const hub = createHub({
      broker: createEmbeddedBroker(),
      logger: createLogger({ write: (l) => lines.push(l) }),
      keepAlive: 10,
      channelAsEvent: false,
    })
    const host: ConnectionHost = {
      maxBufferedBytes: 1 << 20,
      maxChannels: 10,
      subscribe: async () => {},
      unsubscribe: () => {},
      closed: (connection) => hub.detach(connection),
      drained: () => {},
    }
    const bad = new ThrowingHeartbeat(undefined, host)
    const good = new ThrowingHeartbeat(undefined, host)
    good.heartbeat = () => {
      good.beats += 1
    }
    await hub.attach(bad, ['a'])
    await hub.attach(good, ['a'])
    try {
      await new Promise((r) => setTimeout(r, 60))
      expect(bad.closed).toBe(true)
      expect(bad.closeReason).toBe('write-error')
      expect(bad.beats).toBe(1)
      expect(good.beats).toBeGreaterThan(1)
      expect(lines.some((l) => l.includes('write after end'))).toBe(true)
    } finally {
      hub.close('server-shutdown')
    }
  })
})
