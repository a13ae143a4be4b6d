import type { ErrorCode } from './errors'
import type { RedisKeys } from './keys'
import { MAX_CHANNEL_LENGTH, MAX_EVENT_TYPE_LENGTH, RESERVED_PREFIX } from './names'

/** First word of the error replies of {@link PUBLISH_SCRIPT}, before the Redisse error code. */
export const SCRIPT_ERROR_PREFIX = 'REDISSE'

/** History kept per channel when neither the publish nor the server config says otherwise. */
export const DEFAULT_HISTORY = { size: 1000, ttl: 3_600_000 } as const

/**
 * The Lua twin of `globToRegExp(glob)` (`*` matches any run, every other
 * character itself), which picks a channel's history rule inside the
 * script. Lua patterns have their own magic characters, all escaped here.
 */
const LUA_MATCH_GLOB = `local function matchGlob(glob, channel)
  local pat = string.gsub(glob, '[%^%$%(%)%%%.%[%]%+%-%?]', '%%%0')
  pat = string.gsub(pat, '%*', '.*')
  return string.find(channel, '^' .. pat .. '$') ~= nil
end`

/**
 * The Lua script behind every publish: one atomic round trip that assigns
 * the next sequence, appends the envelope to the channel's history (bounded
 * and expiring) and PUBLISHes it. Any language can publish by running it.
 *
 * KEYS: 1 seq, 2 epoch, 3 history of the channel, 4 config, 5 idempotency key
 * (or KEYS[1] again when there is none; `''` also works but no ACL key
 * pattern allows an empty name), 6 history meta of the channel
 *
 * ARGV: 1 pub/sub channel, 2 channel, 3 type, 4 data (JSON text),
 * 5 epoch to create when none exists, 6 history size (or '' for the server's),
 * 7 history ttl ms (or ''), 8 idempotency ttl ms, 9 (optional) the pub/sub
 * command: `SPUBLISH` on Redis Cluster (the sharded channel of ARGV 1), else
 * (absent, `''` or `PUBLISH`) `PUBLISH`, 10 (optional) the publisher's
 * partition count, checked against the field `partitions` of the config
 * hash when the servers wrote one (absent or `''`: no check)
 *
 * Returns the event's cursor `epoch-seq`, or an error reply starting with
 * {@link SCRIPT_ERROR_PREFIX} and a Redisse error code (`invalid-channel`,
 * `invalid-event-type`, `reserved-event-type`, `partitions-mismatch`) when the channel or type
 * would not pass `validateChannel` / `validateEventType` (the length and
 * control-character rules; leading or trailing Unicode spaces are left to
 * the servers, which drop such envelopes). History size 0 writes no history.
 * Without ARGV 6/7 the size and ttl come from the config hash: the first
 * rule of `historyRules` matching the channel, else `historySize`/`historyTtl`.
 */
export const PUBLISH_SCRIPT = `
${LUA_MATCH_GLOB}
-- Names are checked here too, for publishers that run this script without an
-- SDK: a line break in a type or channel would forge events on every stream.
local channel, etype = ARGV[2], ARGV[3]
if #channel == 0 or #channel > ${MAX_CHANNEL_LENGTH} or string.find(channel, '[^A-Za-z0-9_%-%.:@/=+]') then
  return redis.error_reply('${SCRIPT_ERROR_PREFIX} invalid-channel: use 1 to ${MAX_CHANNEL_LENGTH} characters among A-Z a-z 0-9 _ - . : @ / = +')
end
-- Length in UTF-16 units, as the SDKs count it: one per character, two for those beyond U+FFFF.
local _, units = string.gsub(etype, '[^\\128-\\191]', '')
local _, astral = string.gsub(etype, '[\\240-\\247]', '')
if #etype == 0 or units + astral > ${MAX_EVENT_TYPE_LENGTH} or string.find(etype, '[%z\\1-\\31\\127]')
  or string.find(etype, '\\194[\\128-\\159]') or string.find(etype, '\\226\\128[\\168\\169]') then
  return redis.error_reply('${SCRIPT_ERROR_PREFIX} invalid-event-type: use 1 to ${MAX_EVENT_TYPE_LENGTH} characters, no control characters or line separators')
end
if string.sub(etype, 1, ${RESERVED_PREFIX.length}) == '${RESERVED_PREFIX}' then
  return redis.error_reply('${SCRIPT_ERROR_PREFIX} reserved-event-type: the prefix ${RESERVED_PREFIX} belongs to Redisse')
end
-- With another partition count than the servers', a publisher would append
-- channels to partitions their servers never read.
if ARGV[10] and ARGV[10] ~= '' then
  local servers = redis.call('HGET', KEYS[4], 'partitions')
  if servers and servers ~= ARGV[10] then
    return redis.error_reply('${SCRIPT_ERROR_PREFIX} partitions-mismatch: the servers split the log in ' .. servers .. ' partitions and this publisher in ' .. ARGV[10] .. ': set the publisher option redis.partitions to ' .. servers)
  end
end
-- No idempotency key: KEYS[5] repeats KEYS[1] ('' from older callers), a
-- name an ACL restricted to the prefix allows, in the same cluster slot.
local idem = KEYS[5] ~= '' and KEYS[5] ~= KEYS[1]
if idem then
  local seen = redis.call('GET', KEYS[5])
  if seen then return seen end
end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[2], epoch)
end
local seq = redis.call('INCR', KEYS[1])
local now = redis.call('TIME')
local ts = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
local id = epoch .. '-' .. seq
local envelope = 'redisse/1\\n' .. id .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ts .. '\\n' .. ARGV[4]
local size = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
if size == nil or ttl == nil then
  local conf = redis.call('HMGET', KEYS[4], 'historySize', 'historyTtl', 'historyRules')
  local s, t = tonumber(conf[1]) or ${DEFAULT_HISTORY.size}, tonumber(conf[2]) or ${DEFAULT_HISTORY.ttl}
  if conf[3] then
    -- First rule whose glob matches the channel wins.
    for glob, rs, rt in string.gmatch(conf[3], '([^ \\n]+) (%d+) (%d+)') do
      if matchGlob(glob, ARGV[2]) then
        s, t = tonumber(rs), tonumber(rt)
        break
      end
    end
  end
  size = size or s
  ttl = ttl or t
end
if size > 0 then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    -- Events before this one are gone (expired) unless none was ever published.
    local last = redis.call('HGET', KEYS[6], 'last')
    redis.call('HSET', KEYS[6], 'since', last and seq or 0)
  end
  redis.call('ZADD', KEYS[3], seq, envelope)
  if redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -size - 1) > 0 then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    redis.call('HSET', KEYS[6], 'since', oldest[2])
  end
  redis.call('HSET', KEYS[6], 'last', seq)
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[3], ttl)
    redis.call('PEXPIRE', KEYS[6], ttl + 2592000000)
  end
end
-- SPUBLISH on a cluster: only the nodes of the partition's slot carry it.
redis.call(ARGV[9] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH', ARGV[1], envelope)
if idem then
  redis.call('SET', KEYS[5], id, 'PX', tonumber(ARGV[8]) or 86400000)
end
return id
`

/** Number of KEYS {@link PUBLISH_SCRIPT} takes (EVAL's `numkeys`). */
export const PUBLISH_SCRIPT_KEY_COUNT = 6

/** Arguments of one run of {@link PUBLISH_SCRIPT}. */
export interface PublishScriptCall {
  keys: [string, string, string, string, string, string]
  /** 8 arguments, then the pub/sub command and the partition count when either is set. */
  args: [string, string, string, string, string, string, string, string, ...string[]]
}

/**
 * Builds the KEYS and ARGV of {@link PUBLISH_SCRIPT} for one publish. Names
 * must already be validated.
 */
export function publishScriptArgs(
  keys: RedisKeys,
  event: { channel: string; type: string; data: string },
  options: {
    epoch: string
    history?: { size: number; ttl: number } | undefined
    idempotencyKey?: string | undefined
    idempotencyTtl?: number | undefined
    /** SPUBLISH to the sharded channel (Redis Cluster) instead of PUBLISH. */
    sharded?: boolean | undefined
    /** The publisher's partition count, for the script to check against the servers'. */
    partitions?: number | undefined
  },
): PublishScriptCall {
  const call: PublishScriptCall = {
    keys: [
      keys.seq,
      keys.epoch,
      keys.history(event.channel),
      keys.config,
      options.idempotencyKey ? keys.idempotency(options.idempotencyKey) : keys.seq,
      keys.historyMeta(event.channel),
    ],
    args: [
      keys.pubsub(event.channel),
      event.channel,
      event.type,
      event.data,
      options.epoch,
      options.history ? String(options.history.size) : '',
      options.history ? String(options.history.ttl) : '',
      String(options.idempotencyTtl ?? 86_400_000),
    ],
  }
  // Absent unless asked for: single-Redis publishes keep their 8 arguments.
  if (options.sharded || options.partitions !== undefined) {
    call.args.push(
      options.sharded ? 'SPUBLISH' : 'PUBLISH',
      options.partitions === undefined ? '' : String(options.partitions),
    )
  }
  return call
}

const SCRIPT_ERROR = new RegExp(
  `^(?:ERR )?${SCRIPT_ERROR_PREFIX} (invalid-channel|invalid-event-type|reserved-event-type|partitions-mismatch): (.*)$`,
)

/**
 * Reads an error reply of {@link PUBLISH_SCRIPT} (the message of the Redis
 * client's reply error): its Redisse code and reason, or `undefined` for
 * any other error.
 * @example
 * ```ts
 * parseScriptError('REDISSE invalid-event-type: use 1 to 100 characters…')
 * // { code: 'invalid-event-type', reason: 'use 1 to 100 characters…' }
 * ```
 */
export function parseScriptError(message: string): { code: ErrorCode; reason: string } | undefined {
  const match = SCRIPT_ERROR.exec(message)
  if (!match) return undefined
  return { code: match[1] as ErrorCode, reason: match[2] ?? '' }
}
