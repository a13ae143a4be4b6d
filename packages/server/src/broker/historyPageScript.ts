/**
 * Reads one page of history for several channels at one instant: KEYS are
 * the sequence and epoch keys, then each channel's history and metadata
 * keys; ARGV the page's event and byte bounds, then each channel's cursor.
 * The channels are merged in sequence order one event at a time, so Redis
 * holds at most a page plus one event per channel, however long the
 * histories; a page stops before the event that would exceed a bound (but
 * always carries one). Returns the epoch, the head, whether the page holds
 * all that is due, each channel's `last`/`since`/existence, the events,
 * the score of the last one, and the channel (1-based) each event was read from.
 */
export const HISTORY_PAGE_SCRIPT = `
local maxEvents = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[2])
local n = (#KEYS - 2) / 2
local metas = {}
local heads = {}
local function fetch(i, after)
  local r = redis.call('ZRANGEBYSCORE', KEYS[1 + 2 * i], '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #r == 0 then heads[i] = false else heads[i] = { tonumber(r[2]), r[1], r[2] } end
end
for i = 1, n do
  local m = redis.call('HMGET', KEYS[2 + 2 * i], 'last', 'since')
  metas[i] = { m[1] or false, m[2] or false, redis.call('EXISTS', KEYS[1 + 2 * i]) }
  fetch(i, ARGV[2 + i])
end
local events = {}
local origins = {}
local bytes = 0
local complete = 1
local through = false
while true do
  local best = nil
  for i = 1, n do
    local h = heads[i]
    if h and (best == nil or h[1] < heads[best][1]) then best = i end
  end
  if best == nil then break end
  local h = heads[best]
  if #events >= maxEvents or (#events > 0 and bytes + #h[2] > maxBytes) then
    complete = 0
    break
  end
  events[#events + 1] = h[2]
  origins[#origins + 1] = best
  bytes = bytes + #h[2]
  through = h[3]
  fetch(best, h[3])
end
return { redis.call('GET', KEYS[2]) or false, redis.call('GET', KEYS[1]) or '0', complete, metas, events, through, origins }
`
