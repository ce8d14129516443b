/**
 * The two Lua scripts of the Redis limiter. Each runs atomically in Redis, so replicas sharing one
 * Redis share every limit. The arithmetic is evaluate.ts's, line for line.
 *
 * State: one hash per rule and counting subject, fields r (request tat), t (token tat), d (UTC day
 * number), u (tokens used that day). Keys expire once their clocks have run out (and, with a day
 * budget in use, at the end of the UTC day).
 */

const COMMON = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local MINUTE, DAY, EPS = 60000, 86400000, 1e-6
local today = math.floor(now / DAY)
local function fmt(x) return string.format('%.17g', x) end
local function ttl(tat, tok, used, tpd)
  local until_ = math.max(tat, tok) - now
  if tpd > 0 and used > 0 then until_ = math.max(until_, (today + 1) * DAY - now) end
  return math.max(1000, math.ceil(until_) + 1000)
end
`;

/**
 * KEYS: the state hash of each matching rule. ARGV[1]: now in epoch ms, or "" for Redis's clock;
 * then rpm, tpm, tpd of each rule (0: none). Returns {admitted 1|0, now, then per rule the state
 * before the check: r, t, u}, numbers as strings so no precision is lost.
 */
export const CHECK_LUA = `${COMMON}
local n = #KEYS
local out = {0, fmt(now)}
local refused = false
local tats = {}
for i = 1, n do
  local rpm, tpm, tpd = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local v = redis.call('HMGET', KEYS[i], 'r', 't', 'd', 'u')
  local rs, ts, us = v[1] or '0', v[2] or '0', v[4] or '0'
  if tonumber(v[3]) ~= today then us = '0' end
  local tat, tok, used = tonumber(rs), tonumber(ts), tonumber(us)
  tats[i] = tat
  out[3 * i] = rs
  out[3 * i + 1] = ts
  out[3 * i + 2] = us
  if rpm > 0 then
    local occ = math.max(0, tat - now)
    if occ + MINUTE / rpm > MINUTE + EPS then refused = true end
  end
  if tpm > 0 then
    if math.max(0, tok - now) > MINUTE + EPS then refused = true end
  end
  if tpd > 0 and used >= tpd then refused = true end
end
if not refused then
  out[1] = 1
  for i = 1, n do
    local rpm, tpd = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i + 1])
    if rpm > 0 then
      local tat = math.max(tats[i], now) + MINUTE / rpm
      redis.call('HSET', KEYS[i], 'r', fmt(tat))
      redis.call('PEXPIRE', KEYS[i], ttl(tat, tonumber(out[3 * i + 1]), tonumber(out[3 * i + 2]), tpd))
    end
  end
end
return out
`;

/** KEYS: the state hash of each matching rule with a token limit. ARGV[1]: now or ""; ARGV[2]: tokens; then tpm, tpd per rule. */
export const CHARGE_LUA = `${COMMON}
local tokens = tonumber(ARGV[2])
for i = 1, #KEYS do
  local tpm, tpd = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local v = redis.call('HMGET', KEYS[i], 'r', 't', 'd', 'u')
  local tat, tok, used = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[4]) or 0
  if tonumber(v[3]) ~= today then used = 0 end
  if tpm > 0 then
    tok = math.max(tok, now) + tokens * MINUTE / tpm
    redis.call('HSET', KEYS[i], 't', fmt(tok))
  end
  if tpd > 0 then
    used = used + tokens
    redis.call('HSET', KEYS[i], 'd', today, 'u', fmt(used))
  end
  redis.call('PEXPIRE', KEYS[i], ttl(tat, tok, used, tpd))
end
return 1
`;
