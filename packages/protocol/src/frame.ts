import { formatEventId } from './cursor'
import type { Envelope } from './envelope'
import { encodeEvent } from './sse'

/**
 * The SSE text of one bus event, as every subscriber receives it: id is the
 * cursor plus channel, `event` is the type (or the channel, when
 * `channelAsEvent` mirrors Sinapse's `SINAPSE_CHANNEL_EVENT`), data as published.
 */
export function encodeEnvelope(envelope: Envelope, { channelAsEvent = false } = {}): string {
  return encodeEvent({
    id: formatEventId(envelope.id, envelope.channel),
    event: channelAsEvent ? envelope.channel : envelope.type,
    data: envelope.data,
  })
}
