import type { RedisKeys } from './keys'

/** History kept per channel when neither the publish nor the server config says otherwise. */
export const DEFAULT_HISTORY = { size: 1000, ttl: 3_600_000 } as const

/**
 * The Lua script behind every publish: one atomic round trip that assigns
 * the next sequence, appends the envelope to the channel's history (bounded
 * and expiring) and PUBLISHes it. Any language can publish by running it.
 *
 * KEYS: 1 seq, 2 epoch, 3 history of the channel, 4 config, 5 idempotency key (or ''),
 * 6 history meta of the channel
 *
 * ARGV: 1 pub/sub channel, 2 channel, 3 type, 4 data (JSON text),
 * 5 epoch to create when none exists, 6 history size (or '' for the server's),
 * 7 history ttl ms (or ''), 8 idempotency ttl ms
 *
 * Returns the event's cursor `epoch-seq`. History size 0 writes no history.
 * Without ARGV 6/7 the size and ttl come from the config hash: the first
 * rule of `historyRules` matching the channel, else `historySize`/`historyTtl`.
 */
export const PUBLISH_SCRIPT = `
if KEYS[5] ~= '' then
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
    -- First rule whose glob matches the channel wins; '*' is the only wildcard.
    for glob, rs, rt in string.gmatch(conf[3], '([^ \\n]+) (%d+) (%d+)') do
      local pat = '^' .. string.gsub(string.gsub(glob, '[%.%+%-]', '%%%0'), '%*', '.*') .. '$'
      if string.find(ARGV[2], pat) then
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
redis.call('PUBLISH', ARGV[1], envelope)
if KEYS[5] ~= '' then
  redis.call('SET', KEYS[5], id, 'PX', tonumber(ARGV[8]) or 86400000)
end
return id
`

/** Number of KEYS {@link PUBLISH_SCRIPT} takes (EVAL's `numkeys`). */
export const PUBLISH_SCRIPT_KEY_COUNT = 6

/** Arguments of one run of {@link PUBLISH_SCRIPT}. */
export interface PublishScriptCall {
  keys: [string, string, string, string, string, string]
  args: [string, string, string, string, string, string, string, string]
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
  },
): PublishScriptCall {
  return {
    keys: [
      keys.seq,
      keys.epoch,
      keys.history(event.channel),
      keys.config,
      options.idempotencyKey ? keys.idempotency(options.idempotencyKey) : '',
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
}
