import type { Claim, FailureRecord, ItemKeys, StoredEntry, StoredFailure } from "./store";

/**
 * The Lua scripts both Redis stores run, and the parsing of their replies. Time is never read from a clock:
 * every lifetime is a key's expiry, which Redis enforces, and ages and remaining lifetimes are worked out
 * from `PTTL`. So freshness, grace and backoff are decided on one clock, Redis', whatever the instances'
 * clocks say, and the scripts stay deterministic, as Upstash asks of scripts.
 *
 * Keys: KEYS[1] the entry, KEYS[2] the lease, KEYS[3] the failure record (one hash tag, one slot).
 * An entry is JSON `{value, freshMs, graceMs}` expiring after fresh + grace; a failure is JSON
 * `{error, attempts, retryMs, keepMs}` expiring after `keepMs`.
 */
const PRELUDE = `
local function decode(raw)
  if not raw then return nil end
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == "table" then return decoded end
  return nil
end
-- value, ageMs, freshForMs, staleForMs of the entry at key, or nil when absent or malformed
local function entry_at(key)
  local ttl = redis.call("pttl", key)
  if ttl <= 0 then return nil end
  local entry = decode(redis.call("get", key))
  if not (entry and type(entry.value) == "string" and tonumber(entry.freshMs) and tonumber(entry.graceMs)) then
    return nil
  end
  return entry.value, entry.freshMs + entry.graceMs - ttl, ttl - entry.graceMs, ttl
end
local function release(lease_key, token)
  if redis.call("get", lease_key) == token then redis.call("del", lease_key) end
end
`;

/** Reply: [value | nil, ageMs, freshForMs, staleForMs]. */
export const READ = `${PRELUDE}
local value, age, fresh_for, stale_for = entry_at(KEYS[1])
if not value then return {false, 0, 0, 0} end
return {value, age, fresh_for, stale_for}`;

/**
 * ARGV: token, lease ms. Reply: [leased 0|1, value | nil, ageMs, freshForMs, staleForMs, error | nil,
 * attempts, retryInMs]. A fresh entry comes back alone; otherwise the failure record (if any) and, unless
 * its backoff lasts, the lease: taken when free, kept when it already holds this token (a retry whose
 * first reply was lost must not wait on its own lease).
 */
export const CLAIM = `${PRELUDE}
local value, age, fresh_for, stale_for = entry_at(KEYS[1])
if value and fresh_for > 0 then return {0, value, age, fresh_for, stale_for, false, 0, 0} end
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
return {leased, value or false, age or 0, fresh_for or 0, stale_for or 0, failed_with, attempts, retry_in}`;

/** ARGV: token, value, fresh ms, grace ms, "1" to store the value (a value too large is not). */
export const FILL = `${PRELUDE}
if ARGV[5] == "1" then
  local fresh, grace = tonumber(ARGV[3]), tonumber(ARGV[4])
  redis.call("set", KEYS[1], cjson.encode({value = ARGV[2], freshMs = fresh, graceMs = grace}), "PX", fresh + grace)
end
redis.call("del", KEYS[3])
release(KEYS[2], ARGV[1])
return 1`;

/** ARGV: token, error, attempts, retry in ms, keep ms. */
export const FAIL = `${PRELUDE}
local record = {error = ARGV[2], attempts = tonumber(ARGV[3]), retryMs = tonumber(ARGV[4]), keepMs = tonumber(ARGV[5])}
redis.call("set", KEYS[3], cjson.encode(record), "PX", ARGV[5])
release(KEYS[2], ARGV[1])
return 1`;

/** KEYS[1] the entry, KEYS[2] the failure record. Reply: entries deleted (0 or 1). */
export const DELETE_ITEM = `local deleted = redis.call("del", KEYS[1])
redis.call("del", KEYS[2])
return deleted`;

/** Reply values as either client hands them over: bulk strings as strings (or null), integers as numbers. */
type Reply = unknown;

function integer(reply: Reply): number {
  const number = Number(reply);
  if (!Number.isFinite(number)) throw new TypeError(`expected an integer in a script reply, got ${typeof reply}`);
  return number;
}

function entryOf(value: Reply, ageMs: Reply, freshForMs: Reply, staleForMs: Reply): StoredEntry | undefined {
  if (typeof value !== "string") return undefined;
  return { value, ageMs: integer(ageMs), freshForMs: integer(freshForMs), staleForMs: integer(staleForMs) };
}

function failureOf(error: Reply, attempts: Reply, retryInMs: Reply): StoredFailure | undefined {
  if (typeof error !== "string") return undefined;
  return { error, attempts: integer(attempts), retryInMs: integer(retryInMs) };
}

function fields(reply: Reply, length: number): Reply[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new TypeError("unexpected shape of a script reply");
  return reply as Reply[];
}

export function parseRead(reply: Reply): StoredEntry | null {
  const [value, ageMs, freshForMs, staleForMs] = fields(reply, 4);
  return entryOf(value, ageMs, freshForMs, staleForMs) ?? null;
}

export function parseClaim(reply: Reply): Claim {
  const [leased, value, ageMs, freshForMs, staleForMs, error, attempts, retryInMs] = fields(reply, 8);
  return {
    leased: integer(leased) === 1,
    entry: entryOf(value, ageMs, freshForMs, staleForMs),
    failure: failureOf(error, attempts, retryInMs),
  };
}

/** Script arguments are strings on the wire; lifetimes are whole milliseconds. */
export function ms(value: number): string {
  return String(Math.max(1, Math.ceil(value)));
}

/** KEYS of CLAIM, FILL and FAIL, in their order. */
export function itemKeys({ entry, lease, failure }: ItemKeys): string[] {
  return [entry, lease, failure];
}

/** ARGV of FILL; an undefined value (too large to cache) frees the lease and clears the failure only. */
export function fillArgs(token: string, value: string | undefined, freshMs: number, graceMs: number): string[] {
  return [token, value ?? "", ms(freshMs), String(Math.max(0, Math.ceil(graceMs))), value === undefined ? "0" : "1"];
}

/** ARGV of FAIL. */
export function failArgs(token: string, { error, attempts, retryInMs, keepMs }: FailureRecord): string[] {
  return [token, error, String(attempts), ms(retryInMs), ms(keepMs)];
}
