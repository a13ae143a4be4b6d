import { RedisseError } from './errors'

/**
 * A live edit of a subject's channel list, PUBLISHed on the control channel
 * (`keys.control`) after the Redis sets changed, so every server node
 * applies it to the subject's open connections at once.
 */
export type ControlMessage =
  | { v: 1; op: 'add' | 'remove'; subject: string; channel: string }
  | { v: 1; op: 'clear'; subject: string }
  /** One token was revoked: streams opened with it end (`tokenHash` is its SHA-256 hex). */
  | { v: 1; op: 'revoke'; subject: string; tokenHash: string }

/** Serialises a control message. */
export function formatControl(message: ControlMessage): string {
  return JSON.stringify(message)
}

/**
 * Parses a control message.
 * @throws RedisseError `invalid-envelope` when it is not one
 */
export function parseControl(raw: string): ControlMessage {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (cause) {
    throw new RedisseError('invalid-envelope', 'control message is not JSON', { cause })
  }
  const m = value as Partial<{
    v: number
    op: string
    subject: string
    channel: string
    tokenHash: string
  }>
  if (m && m.v === 1 && typeof m.subject === 'string') {
    if ((m.op === 'add' || m.op === 'remove') && typeof m.channel === 'string') {
      return { v: 1, op: m.op, subject: m.subject, channel: m.channel }
    }
    if (m.op === 'clear') return { v: 1, op: 'clear', subject: m.subject }
    if (
      m.op === 'revoke' &&
      typeof m.tokenHash === 'string' &&
      /^[0-9a-f]{64}$/.test(m.tokenHash)
    ) {
      return { v: 1, op: 'revoke', subject: m.subject, tokenHash: m.tokenHash }
    }
  }
  throw new RedisseError('invalid-envelope', `unknown control message: ${raw.slice(0, 80)}`)
}
