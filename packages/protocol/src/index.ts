/**
 * The wire format of Redisse, shared by server, publisher and client: SSE
 * encoding, the bus envelope, cursors and event ids, name validation,
 * reserved events, Redis key names and the publish script. No runtime
 * dependencies, no Node built-ins.
 *
 * @example
 * ```ts
 * import { encodeEvent, validateChannel } from '@redisse/protocol'
 * validateChannel('room:42')
 * encodeEvent({ event: 'message', data: JSON.stringify({ text: 'hi' }) })
 * ```
 * @module
 */

export type { ControlMessage } from './control'
export { formatControl, parseControl } from './control'
export type { Cursor } from './cursor'
export {
  EPOCH_PATTERN,
  formatCursor,
  formatEventId,
  newEpoch,
  parseCursor,
  parseEventId,
} from './cursor'
export type { Envelope } from './envelope'
export { ENVELOPE_VERSION, epochOf, formatEnvelope, parseEnvelope } from './envelope'
export type { ErrorBody, ErrorCode } from './errors'
export { ErrorCodes, isRedisseError, RedisseError } from './errors'
export type { EventFrame, PollResponse, WsCloseCode } from './eventFrame'
export {
  encodeEnvelopeFrame,
  encodeEventFrame,
  encodePollResponse,
  isEventFrame,
  parseEventFrame,
  WsCloseCodes,
} from './eventFrame'
export type { EventMap, ReservedEvent, ResetEventData } from './events'
export { defineEvents, ReservedEvents } from './events'
export { encodeEnvelope } from './frame'
export type { GlobOptions } from './globToRegExp'
export { globToRegExp } from './globToRegExp'
export type { HistoryRule, HistorySettings } from './historyRules'
export { formatHistoryRules, historyResolver, validateHistoryPattern } from './historyRules'
export { DEFAULT_MAX_PAYLOAD_BYTES, HttpPaths } from './httpApi'
export { integerOption } from './integerOption'
export type { IoredisLike } from './isIoredis'
export { isClusterOption, isIoredis, isIoredisCluster } from './isIoredis'
export type { KeyOptions, RedisKeys } from './keys'
export { createKeys, DEFAULT_PREFIX, subjectTag } from './keys'
export {
  CHANNEL_PATTERN,
  isValidChannel,
  isValidEventType,
  MAX_CHANNEL_LENGTH,
  MAX_EVENT_TYPE_LENGTH,
  RESERVED_PREFIX,
  validateChannel,
  validateEventType,
} from './names'
export {
  parsePartitionsRecord,
  partitionsRecordReadError,
} from './parsePartitionsRecord'
export type { PartitionCursor } from './partitions'
export {
  channelOfEventId,
  clusterSlot,
  DEFAULT_CLUSTER_PARTITIONS,
  formatPartitionEntry,
  formatPartitionedCursor,
  joinPartitionEntries,
  MAX_PARTITIONS,
  parsePartitionedCursor,
  partitionOf,
  partitionPrefix,
  partitionTag,
  validatePartitions,
} from './partitions'
export { encodePayload } from './payload'
export type { PublishScriptCall } from './publishScript'
export {
  DEFAULT_HISTORY,
  PUBLISH_SCRIPT,
  PUBLISH_SCRIPT_KEY_COUNT,
  parseScriptError,
  publishScriptArgs,
  SCRIPT_ERROR_PREFIX,
} from './publishScript'
export { quitWithin } from './quitWithin'
export { REPLACE_EPOCH_SCRIPT } from './replaceEpochScript'
export type { SseFrame } from './sse'
export { encodeComment, encodeEvent, encodeRetry } from './sse'
export {
  hashToken,
  MAX_SUBJECT_LENGTH,
  MAX_TOKEN_LENGTH,
  newToken,
  validateSubject,
  validateToken,
} from './tokens'
