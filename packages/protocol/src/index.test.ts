import { expect, test } from 'vitest'
import * as protocol from './index'

test('exports exactly the documented runtime API', () => {
  expect(Object.keys(protocol).sort()).toEqual(
    [
      'CHANNEL_PATTERN',
      'DEFAULT_CLUSTER_PARTITIONS',
      'MAX_PARTITIONS',
      'channelOfEventId',
      'clusterSlot',
      'formatPartitionedCursor',
      'parsePartitionedCursor',
      'partitionOf',
      'partitionPrefix',
      'partitionTag',
      'validatePartitions',
      'DEFAULT_HISTORY',
      'DEFAULT_MAX_PAYLOAD_BYTES',
      'DEFAULT_PREFIX',
      'ENVELOPE_VERSION',
      'EPOCH_PATTERN',
      'ErrorCodes',
      'HttpPaths',
      'MAX_CHANNEL_LENGTH',
      'MAX_EVENT_TYPE_LENGTH',
      'MAX_SUBJECT_LENGTH',
      'MAX_TOKEN_LENGTH',
      'PUBLISH_SCRIPT',
      'PUBLISH_SCRIPT_KEY_COUNT',
      'REPLACE_EPOCH_SCRIPT',
      'RESERVED_PREFIX',
      'SCRIPT_ERROR_PREFIX',
      'RedisseError',
      'WsCloseCodes',
      'ReservedEvents',
      'createKeys',
      'subjectTag',
      'defineEvents',
      'encodeComment',
      'encodeEnvelope',
      'encodeEnvelopeFrame',
      'encodeEventFrame',
      'encodePollResponse',
      'encodeEvent',
      'encodePayload',
      'encodeRetry',
      'formatControl',
      'formatCursor',
      'formatEnvelope',
      'formatEventId',
      'formatHistoryRules',
      'historyResolver',
      'globToRegExp',
      'hashToken',
      'integerOption',
      'isEventFrame',
      'isIoredis',
      'isIoredisCluster',
      'isRedisseError',
      'isValidChannel',
      'isValidEventType',
      'newEpoch',
      'newToken',
      'parseControl',
      'parseCursor',
      'parseEnvelope',
      'parseEventFrame',
      'parseEventId',
      'parseScriptError',
      'publishScriptArgs',
      'validateChannel',
      'validateEventType',
      'validateHistoryPattern',
      'validateSubject',
      'validateToken',
    ].sort(),
  )
})

test('reserves event types under the redisse: prefix only', () => {
  for (const type of Object.values(protocol.ReservedEvents)) {
    expect(type.startsWith(protocol.RESERVED_PREFIX)).toBe(true)
    expect(() => protocol.validateEventType(type)).toThrowError(
      expect.objectContaining({ code: 'reserved-event-type' }),
    )
    expect(protocol.validateEventType(type, { allowReserved: true })).toBe(type)
  }
})
