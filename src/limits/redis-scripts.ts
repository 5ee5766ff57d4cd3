/**
 * The Lua scripts of the Redis quota store. Each runs atomically on the Redis server, over all
 * the buckets of one request, with the server's clock, so replicas with skewed clocks still
 * agree. A bucket is a hash {t: tokens, a: last update in ms}; it expires once it would be full
 * again, since a missing bucket counts as full.
 *
 * KEYS: bucket keys. ARGV: limit, windowMs, cost for each key, in order.
 */

const NOW_AND_HELPERS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level(key, limit, win)
  local s = redis.call('HMGET', key, 't', 'a')
  if not s[1] then return limit end
  local el = now - tonumber(s[2])
  if el < 0 then el = 0 end
  return math.min(limit, tonumber(s[1]) + el * limit / win)
end
local function store(key, tokens, limit, win)
  redis.call('HSET', key, 't', string.format('%.6f', tokens), 'a', now)
  redis.call('PEXPIRE', key, math.ceil((limit - tokens) * win / limit) + 1000)
end
`;

/**
 * Takes every cost or none. Returns {1, 0, 0, remaining...} when admitted, or
 * {0, index of the refusing bucket (1-based), wait in ms or -1 when never, remaining...}.
 * Numbers travel as strings: Redis would truncate Lua floats to integers.
 */
export const ACQUIRE = `${NOW_AND_HELPERS}
local n = #KEYS
local level_of = {}
local refused, wait = 0, 0
for i = 1, n do
  local limit, win, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local lv = level(KEYS[i], limit, win)
  level_of[i] = lv
  if refused == 0 and lv < cost then
    refused = i
    if cost > limit then wait = -1 else wait = math.ceil((cost - lv) * win / limit) end
  end
end
local out = {refused == 0 and 1 or 0, refused, wait}
for i = 1, n do
  local left = level_of[i]
  if refused == 0 then
    local limit, win, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
    left = left - cost
    store(KEYS[i], left, limit, win)
  end
  out[#out + 1] = tostring(left)
end
return out
`;

/** Adds each cost back, up to the limit; a negative cost is charged unconditionally. */
export const REFUND = `${NOW_AND_HELPERS}
for i = 1, #KEYS do
  local limit, win, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local exists = redis.call('EXISTS', KEYS[i]) == 1
  if exists or cost < 0 then
    store(KEYS[i], math.min(limit, level(KEYS[i], limit, win) + cost), limit, win)
  end
end
return 1
`;
