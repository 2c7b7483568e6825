/**
 * The Lua scripts both Redis stores run (script-calls.ts reads their replies). Time is never read from a clock:
 * every lifetime is a key's expiry, which Redis enforces, and ages and remaining lifetimes are worked out
 * from `PTTL`. So freshness, grace and backoff are decided on one clock, Redis', whatever the instances'
 * clocks say, and the scripts stay deterministic, as Upstash asks of scripts.
 *
 * Keys: KEYS[1] the entry, KEYS[2] the lease, KEYS[3] the failure record (one hash tag, one slot).
 * An entry is JSON `{value, version, freshMs, graceMs}` expiring after fresh + grace, `version` being the
 * token of the load that stored it; a failure is JSON `{error, attempts, retryMs, keepMs}` expiring after
 * `keepMs`. A load writes its value or its failure only while the lease still holds its token: a purge
 * deletes the lease, so a load that was under way when its key was purged writes nothing back.
 */
const PRELUDE = `
local function decode(raw)
  if not raw then return nil end
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == "table" then return decoded end
  return nil
end
-- value, version, ageMs, freshForMs, staleForMs, safeForMs, validators (the upstream's ETag and
-- Last-Modified, as JSON, or false) of the entry at key, or nil when absent or malformed. An entry lives fresh + max(grace, fail-safe): past its grace it is kept for when refreshes fail.
local function entry_at(key)
  local ttl = redis.call("pttl", key)
  if ttl <= 0 then return nil end
  local entry = decode(redis.call("get", key))
  if not (entry and type(entry.value) == "string" and type(entry.version) == "string" and tonumber(entry.freshMs)
      and tonumber(entry.graceMs)) then
    return nil
  end
  local age = entry.freshMs + math.max(entry.graceMs, tonumber(entry.failSafeMs) or 0) - ttl
  local validators = type(entry.validators) == "string" and entry.validators or false
  return entry.value, entry.version, age, entry.freshMs - age, entry.freshMs + entry.graceMs - age, ttl, validators
end
-- Tells the fleet's bus what changed at the entry KEYS[1] ("<kind> <version | -> <entry key>"), in the step
-- that changed it; channel "" when the store publishes after the script (a Cluster's sharded channels).
local function announce(channel, kind, version)
  if channel ~= "" then redis.call("publish", channel, kind .. " " .. version .. " " .. KEYS[1]) end
end
`;

/**
 * ARGV: the version the caller holds ("" for none). Reply: [value | nil, version | nil, ageMs, freshForMs,
 * staleForMs, safeForMs, validators | nil]. When the entry is the version the caller holds, its value (and its
 * validators) are left out: the caller has them.
 */
export const READ = `${PRELUDE}
local value, version, age, fresh_for, stale_for, safe_for, validators = entry_at(KEYS[1])
if not value then return {false, false, 0, 0, 0, 0, false} end
if ARGV[1] ~= "" and version == ARGV[1] then value, validators = false, false end
return {value, version, age, fresh_for, stale_for, safe_for, validators}`;

/**
 * ARGV: token, lease ms, and how much freshness left counts as due for an eager refresh (0: none). Reply:
 * [leased 0|1, value | nil, version | nil, ageMs, freshForMs, staleForMs, safeForMs, validators | nil,
 * error | nil, attempts, retryInMs].
 * A fresh entry not yet due comes back alone; otherwise the failure record (if any) and, unless
 * its backoff lasts, the lease: taken when free, kept when it already holds this token (a retry whose
 * first reply was lost must not wait on its own lease).
 */
export const CLAIM = `${PRELUDE}
local value, version, age, fresh_for, stale_for, safe_for, validators = entry_at(KEYS[1])
if value and fresh_for > math.max(tonumber(ARGV[3]), 0) then
  return {0, value, version, age, fresh_for, stale_for, safe_for, validators, false, 0, 0}
end
local failed_with, attempts, retry_in = false, 0, 0
local failure = decode(redis.call("get", KEYS[3]))
if failure and type(failure.error) == "string" and tonumber(failure.attempts) and tonumber(failure.retryMs)
    and tonumber(failure.keepMs) then
  failed_with, attempts = failure.error, failure.attempts
  retry_in = redis.call("pttl", KEYS[3]) - (failure.keepMs - failure.retryMs)
end
local leased = 0
if retry_in <= 0 then
  local holder = redis.call("get", KEYS[2])
  if holder == ARGV[1] then
    leased = 1
  elseif not holder and redis.call("set", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then
    leased = 1
  end
end
return {leased, value or false, version or false, age or 0, fresh_for or 0, stale_for or 0, safe_for or 0,
  validators or false, failed_with,
  attempts, retry_in}`;

/**
 * ARGV: token, value, fresh ms, grace ms, fail-safe ms, validators (JSON, or "" for none), bus channel. Reply:
 * 1 when the lease held the token and the load's outcome was written, 0 when it did not (a purge came between).
 */
export const FILL = `${PRELUDE}
if redis.call("get", KEYS[2]) ~= ARGV[1] then return 0 end
local fresh, grace, safe = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local validators = ARGV[6] ~= "" and ARGV[6] or nil
local entry = cjson.encode({value = ARGV[2], version = ARGV[1], freshMs = fresh, graceMs = grace, failSafeMs = safe,
  validators = validators})
redis.call("set", KEYS[1], entry, "PX", fresh + math.max(grace, safe))
redis.call("del", KEYS[3], KEYS[2])
announce(ARGV[7], "fill", ARGV[1])
return 1`;

/** ARGV: token, error, attempts, retry in ms, keep ms, bus channel. Reply as FILL's. */
export const FAIL = `${PRELUDE}
if redis.call("get", KEYS[2]) ~= ARGV[1] then return 0 end
local record = {error = ARGV[2], attempts = tonumber(ARGV[3]), retryMs = tonumber(ARGV[4]), keepMs = tonumber(ARGV[5])}
redis.call("set", KEYS[3], cjson.encode(record), "PX", ARGV[5])
redis.call("del", KEYS[2])
announce(ARGV[6], "fail", "-")
return 1`;

/**
 * Adds ARGV[1] to the tag index KEYS[1] (a sorted set) until ARGV[2] (ms since the epoch, on the adding
 * instance's clock, so the script itself reads none), keeping the later time when it is there already;
 * drops members whose time is before ARGV[3]; makes the set live at least ARGV[4] ms more. A set holds the
 * keys whose entries may still live, and goes away with the last of them.
 */
export const INDEX = `redis.call("zadd", KEYS[1], "GT", ARGV[2], ARGV[1])
redis.call("zremrangebyscore", KEYS[1], "-inf", "(" .. ARGV[3])
local ttl = redis.call("pttl", KEYS[1])
if ttl == -1 or ttl < tonumber(ARGV[4]) then redis.call("pexpire", KEYS[1], ARGV[4]) end
return 1`;

/**
 * The gate of a source's calls to its upstream. KEYS[1]: the source's hold (set when the upstream asked to
 * wait); KEYS[2..]: its rate slots, each taken for ARGV[1] ms by one call, so no more calls than slots start
 * within any such window, on Redis' clock. Reply: [open 0|1, wait ms, "held" | "rate" | ""].
 */
export const GATE = `local held = redis.call("pttl", KEYS[1])
if held > 0 then return {0, held, "held"} end
local wait = -1
for i = 2, #KEYS do
  if redis.call("set", KEYS[i], "1", "NX", "PX", ARGV[1]) then return {1, 0, ""} end
  local left = redis.call("pttl", KEYS[i])
  if wait < 0 or left < wait then wait = left end
end
if #KEYS == 1 then return {1, 0, ""} end
return {0, math.max(wait, 1), "rate"}`;

/** Holds the source KEYS[1] off its upstream for ARGV[1] ms, unless a longer hold is already there. Reply: 1. */
export const HOLD = `if redis.call("pttl", KEYS[1]) < tonumber(ARGV[1]) then redis.call("set", KEYS[1], "1", "PX", ARGV[1]) end
return 1`;

/** Frees the lease KEYS[1] if it holds the token ARGV[1]: a load that did not call writes nothing. Reply: 1 or 0. */
export const RELEASE = `if redis.call("get", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("del", KEYS[1])
return 1`;

/**
 * After the upstream answered 304 Not Modified to a conditional refresh, if the lease still holds ARGV[1] and
 * the entry is still version ARGV[2]: keeps its value, fresh for ARGV[3] ms then stale for ARGV[4] and kept
 * for ARGV[5], forgets the failure and frees the lease; no value crosses the wire. ARGV[6]: the bus channel.
 * Reply: 1, or 0 as FILL's.
 */
export const RENEW = `${PRELUDE}
if redis.call("get", KEYS[2]) ~= ARGV[1] then return 0 end
local entry = decode(redis.call("get", KEYS[1]))
if not (entry and entry.version == ARGV[2]) then return 0 end
local fresh, grace, safe = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
entry.freshMs, entry.graceMs, entry.failSafeMs = fresh, grace, safe
redis.call("set", KEYS[1], cjson.encode(entry), "PX", fresh + math.max(grace, safe))
redis.call("del", KEYS[3], KEYS[2])
announce(ARGV[6], "renew", ARGV[2])
return 1`;

/**
 * A soft purge: a fresh entry becomes stale now, keeping its value until it would have gone stale-expired
 * anyway (its time to live is kept), so the next view shows it at once while one refresh runs. Its failure
 * record goes too. ARGV[1]: the bus channel. Reply: 1 when it was fresh.
 */
export const SOFTEN = `${PRELUDE}
local value, version, age, fresh_for = entry_at(KEYS[1])
redis.call("del", KEYS[3])
if not value or fresh_for <= 0 then return 0 end
local entry = decode(redis.call("get", KEYS[1]))
local keep = math.max(entry.graceMs, tonumber(entry.failSafeMs) or 0)
entry.failSafeMs = entry.freshMs + keep - age
entry.graceMs = entry.freshMs + entry.graceMs - age
entry.freshMs = age
redis.call("set", KEYS[1], cjson.encode(entry), "KEEPTTL")
announce(ARGV[1], "soft", version)
return 1`;

/**
 * Deletes the entry, the lease and the failure record, and tells the bus (ARGV[1]) even when nothing was
 * there: a lookup waiting on the lease it deleted must claim again. Reply: entries deleted (0 or 1).
 */
export const DELETE_ITEM = `${PRELUDE}
local deleted = redis.call("del", KEYS[1])
redis.call("del", KEYS[2], KEYS[3])
announce(ARGV[1], "gone", "-")
return deleted`;
