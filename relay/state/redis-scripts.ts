/**
 * The breaker rules of breaker.ts, in Lua, so a transition is one atomic step in Redis however
 * many relay processes share it. Any change here must be made in breaker.ts too: both run the
 * table in breaker-cases.ts (live-state.test.ts).
 *
 * Stored form (a plain string so readEndpoints can MGET it with everything else):
 *   "<phase>,<consecutiveFailures>,<consecutiveSuccesses>,<openUntil>,<probeUntil or empty>"
 */
const PRELUDE = `
local function parse(raw)
  local st = { phase = 'closed', f = 0, s = 0, openUntil = 0, probeUntil = nil }
  if not raw then return st end
  local p = {}
  for part in string.gmatch(raw .. ',', '([^,]*),') do p[#p + 1] = part end
  st.phase = p[1]; st.f = tonumber(p[2]); st.s = tonumber(p[3]); st.openUntil = tonumber(p[4])
  if p[5] and p[5] ~= '' then st.probeUntil = tonumber(p[5]) end
  return st
end

local function encode(st)
  local probe = ''
  if st.probeUntil then probe = string.format('%.0f', st.probeUntil) end
  return st.phase .. ',' .. string.format('%.0f', st.f) .. ',' .. string.format('%.0f', st.s) .. ','
    .. string.format('%.0f', st.openUntil) .. ',' .. probe
end

-- breakerAt: an open breaker whose time is up reads as half-open.
local function at(st, now)
  if st.phase == 'open' and now >= st.openUntil then
    st.phase = 'half_open'; st.s = 0
  end
  return st
end

local function save(key, st, ttl)
  local text = encode(st)
  if st.phase == 'closed' and st.f == 0 then
    redis.call('DEL', key)
  else
    redis.call('SET', key, text, 'PX', ttl)
  end
  return text
end
`;

/** KEYS[1] breaker key; ARGV: ok(1|0), now, failureThreshold, successThreshold, openMs, garbageTtlMs. */
export const RECORD_BREAKER_LUA = `${PRELUDE}
local key = KEYS[1]
local ok = ARGV[1] == '1'
local now = tonumber(ARGV[2])
local failTh = tonumber(ARGV[3]); local succTh = tonumber(ARGV[4]); local openMs = tonumber(ARGV[5])
local ttl = ARGV[6]
local st = at(parse(redis.call('GET', key)), now)
if st.phase == 'open' then
  return encode(st)
elseif st.phase == 'half_open' then
  if not ok then
    st = { phase = 'open', f = st.f + 1, s = 0, openUntil = now + openMs, probeUntil = nil }
  elseif st.s + 1 >= succTh then
    st = { phase = 'closed', f = 0, s = 0, openUntil = 0, probeUntil = nil }
  else
    st = { phase = 'half_open', f = 0, s = st.s + 1, openUntil = st.openUntil, probeUntil = nil }
  end
else
  if ok then
    st = { phase = 'closed', f = 0, s = 0, openUntil = 0, probeUntil = nil }
  elseif st.f + 1 >= failTh then
    st = { phase = 'open', f = st.f + 1, s = 0, openUntil = now + openMs, probeUntil = nil }
  else
    st = { phase = 'closed', f = st.f + 1, s = 0, openUntil = st.openUntil, probeUntil = nil }
  end
end
return save(key, st, ttl)
`;

/** KEYS[1] breaker key; ARGV: now, openMs, garbageTtlMs. Returns 1 when admitted. */
export const ACQUIRE_PROBE_LUA = `${PRELUDE}
local key = KEYS[1]
local now = tonumber(ARGV[1])
local openMs = tonumber(ARGV[2])
local ttl = ARGV[3]
local st = at(parse(redis.call('GET', key)), now)
if st.phase == 'closed' then return 1 end
if st.phase == 'open' then return 0 end
if st.probeUntil and st.probeUntil > now then return 0 end
st.probeUntil = now + openMs
save(key, st, ttl)
return 1
`;
