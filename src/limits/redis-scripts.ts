/**
 * The Lua scripts of the Redis quota store. Each runs atomically on the Redis server, over all
 * the buckets of one request, with the server's clock, so replicas with skewed clocks still
 * agree. A bucket is one string, "<tokens> <last update in ms>", read for all buckets with one
 * MGET and written with one SET each; it expires once it would be full again, since a missing
 * bucket counts as full. (Few commands per bucket: the scripts' cost is Redis's CPU per request.)
 *
 * KEYS: bucket keys. ARGV: limit, windowMs, cost for each key, in order.
 */

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('MGET', unpack(KEYS))
local function level(i, limit, win)
  local s = stored[i]
  if not s then return limit end
  local sp = string.find(s, ' ', 1, true)
  local el = now - tonumber(string.sub(s, sp + 1))
  if el < 0 then el = 0 end
  return math.min(limit, tonumber(string.sub(s, 1, sp - 1)) + el * limit / win)
end
local function store(i, tokens, limit, win)
  redis.call('SET', KEYS[i], tostring(tokens) .. ' ' .. now, 'PX', math.ceil((limit - tokens) * win / limit) + 1000)
end
`;

/**
 * Takes every cost or none. Returns {1, 0, 0, remaining...} when admitted, or
 * {0, index of the refusing bucket (1-based), wait in ms or -1 when never, remaining...}.
 * Remaining units are floored to integers (what RateLimit headers show); formatting floats as
 * strings would cost more Redis CPU than the rest of the script.
 */
export const ACQUIRE = `${PRELUDE}
local n = #KEYS
local level_of = {}
local refused, wait = 0, 0
for i = 1, n do
  local limit, win, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local lv = level(i, limit, win)
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
    store(i, left, limit, win)
  end
  out[#out + 1] = math.floor(left)
end
return out
`;

/** Adds each cost back, up to the limit; a negative cost is charged unconditionally. */
export const REFUND = `${PRELUDE}
for i = 1, #KEYS do
  local limit, win, cost = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  if stored[i] or cost < 0 then
    store(i, math.min(limit, level(i, limit, win) + cost), limit, win)
  end
end
return 1
`;
