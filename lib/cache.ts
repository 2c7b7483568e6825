import "server-only";
import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Json } from "./json";
import { describeError, logEvent } from "./log";
import type { Origin } from "./origin";
import type { MemoryStore } from "./stores/memory";
import type { GuardedStore } from "./stores/guarded";
import type { CacheEntry, FailureRecord, ItemKeys, StoredEntry, StoredFailure } from "./stores/store";
import { sleep, TimeoutError, withTimeout } from "./timeout";
import { traceUpstream } from "./tracing";

export type Lookup = {
  value: Json;
  source: Origin;
  createdAt: number;
  /**
   * For a stale value: the refresh it started or joined, with the fresh value once it lands (source
   * `refreshed`), or undefined when no fresher value comes of it (it failed, or the key is backing off).
   */
  refreshed?: Promise<Lookup | undefined>;
};

/** Produces the value for one key, which must survive JSON as it is; must stop work when `signal` aborts. */
export type Loader = (signal: AbortSignal) => Promise<Json>;

/** How one key is cached; every field defaults to the cache's own option of the same name. */
export type Policy = {
  freshMs: number;
  graceMs: number;
  loadTimeoutMs: number;
  /** Names a purge can address this key by, with every other key that carries them. */
  tags: readonly string[];
};

export type GetOptions = Partial<Policy> & {
  /** Called if the answer has to wait for a load (here or on another instance). */
  onLoading?: () => void;
};

/** What a purge forgets: one key, every key carrying a tag, or every key of this cache. */
export type PurgeTarget = { key: string } | { tag: string } | { all: true };

/** The loader answered something JSON cannot carry as it is (undefined, a function, a bigint…). */
export class NotJsonError extends TypeError {
  override name = "NotJsonError";
}

/**
 * The loaded value, as JSON, is over the cache's size cap: its callers are served, and the key then backs off
 * like a failed load, fleet-wide, rather than calling the upstream again on every view.
 */
export class ValueTooLargeError extends Error {
  override name = "ValueTooLargeError";
}

/** The loader did not finish within its budget. */
export class LoadTimeoutError extends TimeoutError {
  override name = "LoadTimeoutError";
}

/** Another instance's load of this key failed and the key is backing off fleet-wide; the message is that failure. */
export class SharedLoadError extends Error {
  override name = "SharedLoadError";
}

export type CacheOptions = {
  local: MemoryStore;
  /** The store shared by every instance; without it the local tier is the only one. */
  shared?: GuardedStore;
  /** Prefix of every key this cache writes, e.g. `workerless:v3`. */
  namespace: string;
  /** How long a value is fresh, unless a key's policy says otherwise. */
  freshMs: number;
  /** How long after that a stale value may still be served while it is refreshed. */
  graceMs: number;
  /**
   * With a shared store: how long this process trusts its own copy before checking the store again, so
   * a purge or a refresh by another instance shows here within this time. At 0 every lookup checks its
   * copy against the store before serving it (the value itself is not sent again when it is unchanged).
   * @default 5000 ms
   */
  localTrustMs?: number;
  /** Budget for one loader call; the cross-instance lease lasts a little longer. */
  loadTimeoutMs: number;
  /**
   * Values whose JSON is larger than this (UTF-8 bytes) are served to the load's callers but not cached; the
   * key backs off as after a failure.
   */
  maxValueBytes: number;
  /** First wait after a failed load before that key's loader is called again; doubles up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Keeps work that outlives a response running (Next's `after()`); plain Node needs nothing. */
  keepAlive?: (task: Promise<unknown>) => void;
  now?: () => number;
};

export type CacheStats = {
  hits: number;
  stale: number;
  misses: number;
  coalesced: number;
  loads: number;
  loadErrors: number;
  loadTimeouts: number;
  skippedLoads: number;
  uncacheable: number;
};

type Failure = { error: unknown; attempts: number; retryAt: number };
/** A flight's standing: a purge of its key detaches it, and a detached flight stores nothing. */
type Ticket = { detached: boolean };
/**
 * How a flight ended: `loaded` when this process called the loader; otherwise the entry came from the
 * shared store, `waited` telling whether this process first waited there for another instance's load.
 */
type Landing = { entry: CacheEntry; loaded: boolean; waited: boolean };
/** A flight's first usable answer: a stale entry the store had (while the flight refreshes it), or its landing. */
type FirstAnswer = { stale: CacheEntry } | { landing: Landing };
/** `loading` settles once the flight calls the loader or waits on another instance's load. */
type Flight = { promise: Promise<Landing>; first: Promise<FirstAnswer>; loading: Promise<void>; ticket: Ticket };
type FlightNotices = { stale(entry: CacheEntry): void; loading(): void };

const LEASE_MARGIN_MS = 1000;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 250;
const MAX_FAILED_CLAIMS = 2;
/** How long this process trusts that a key is in its tags' indexes in the store before adding it again. */
const INDEX_TRUST_MS = 60_000;
const PURGE_BATCH = 100;

/**
 * A two-tier cache with stale-while-revalidate, stale-if-error and single-flight loads: one load per
 * key per process, and one across processes while they share a store (a lease held in the store).
 */
export class Cache {
  readonly stats: CacheStats = {
    hits: 0,
    stale: 0,
    misses: 0,
    coalesced: 0,
    loads: 0,
    loadErrors: 0,
    loadTimeouts: 0,
    skippedLoads: 0,
    uncacheable: 0,
  };
  private readonly flights = new Map<string, Flight>();
  private readonly rechecking = new Set<string>();
  private readonly failures = new LRUCache<string, Failure>({ max: 10_000 });
  /** Each key's tags, as its last lookup gave them: a purge by tag finds this process's keys here. */
  private readonly tagsOf = new LRUCache<string, readonly string[]>({ max: 100_000 });
  /** Keys this process recently added to their tags' indexes in the store. */
  private readonly indexed = new LRUCache<string, true>({ max: 100_000, ttl: INDEX_TRUST_MS });
  private readonly now: () => number;

  constructor(private readonly options: CacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The value for `key`: from a cache when usable, otherwise from the one load in flight for it. */
  async get(key: string, load: Loader, options: GetOptions = {}): Promise<Lookup> {
    const { onLoading, ...overrides } = options;
    const policy = this.policy(overrides);
    // A source hands the same tags every time: the hot path writes only when they change.
    if (this.tagsOf.peek(key) !== policy.tags) {
      if (policy.tags.length > 0) this.tagsOf.set(key, policy.tags);
      else this.tagsOf.delete(key);
    }
    const read = this.read(key);
    const entry = read instanceof Promise ? await read : read;
    const now = this.now();
    if (entry && entry.freshUntil > now) {
      this.stats.hits += 1;
      return { value: entry.value, source: "hit", createdAt: entry.createdAt };
    }
    if (entry && entry.staleUntil > now) {
      this.stats.stale += 1;
      const refresh = this.revalidate(key, load, policy);
      return { value: entry.value, source: "stale", createdAt: entry.createdAt, refreshed: refresh && this.fresherThan(entry, refresh) };
    }
    const joined = this.flights.get(key);
    if (joined) this.stats.coalesced += 1;
    const flight = joined ?? this.start(key, load, policy);
    if (onLoading) void flight.loading.then(onLoading);
    let answer: FirstAnswer;
    try {
      answer = await flight.first;
    } catch (error) {
      if (!joined) this.stats.misses += 1;
      throw error;
    }
    if ("stale" in answer) {
      if (!joined) this.stats.stale += 1;
      const { stale } = answer;
      return { value: stale.value, source: "stale", createdAt: stale.createdAt, refreshed: this.fresherThan(stale, flight) };
    }
    const { entry: landed, loaded, waited } = answer.landing;
    const source: Origin = joined || waited ? "shared" : loaded ? "miss" : "hit";
    if (!joined) this.stats[source === "hit" ? "hits" : "misses"] += 1;
    return { value: landed.value, source, createdAt: landed.createdAt };
  }

  private policy(overrides: Partial<Policy>): Policy {
    const { freshMs, graceMs, loadTimeoutMs } = this.options;
    return {
      freshMs: overrides.freshMs ?? freshMs,
      graceMs: overrides.graceMs ?? graceMs,
      loadTimeoutMs: overrides.loadTimeoutMs ?? loadTimeoutMs,
      tags: overrides.tags ?? [],
    };
  }

  /**
   * This process's usable entry for `key`. A stale copy is first checked against the shared store, which
   * may hold a newer one, and so is a fresh one when the trust window is 0. With no copy at all the store
   * is not read here (the flight's claim reads it in the same round trip that takes the lease) unless the
   * key is backing off, when no flight may start and only a read can still find a value to serve.
   * Synchronous unless the store is read, so the lookups of one page view reach the store in the same
   * tick and share one round trip.
   */
  private read(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const { local, shared, localTrustMs = 5000 } = this.options;
    const now = this.now();
    const slot = local.lookup(key);
    if (!shared) return slot?.entry;
    if (slot && slot.entry.freshUntil > now && localTrustMs > 0) {
      // A fresh copy is served at once, so a warm page never waits on Redis; past the trust window it is
      // checked in the background, and a purge or newer value elsewhere shows from the next request on.
      if (now - slot.storedAt >= localTrustMs) this.recheck(key);
      return slot.entry;
    }
    return slot || this.inBackoff(key) ? this.readShared(key) : undefined;
  }

  /**
   * The shared store's entry, reconciled with this process's copy. The store is told which version this
   * process holds and leaves the value out of its answer when that is still the one it has.
   */
  private async readShared(key: string): Promise<CacheEntry | undefined> {
    const { local, shared } = this.options;
    const slot = local.lookup(key);
    const remote = await shared?.read(this.keys(key), slot?.entry.version);
    // The store did not answer: what this process holds is the best there is.
    if (remote === undefined) return slot?.entry;
    // Gone from the store (purged, or never stored there): this copy must not outlive it.
    const stored = remote && this.fromStore(key, remote);
    if (!stored) {
      local.delete(key);
      return undefined;
    }
    return this.keepNewest(key, stored);
  }

  /**
   * An entry of the store, placed on this process's clock (the store measures ages and lifetimes on its
   * own). Without a value it is the version this process holds, if it still does; undefined otherwise,
   * and for a value that is not JSON (written by something else).
   */
  private fromStore(key: string, { value, version, ageMs, freshForMs, staleForMs }: StoredEntry): CacheEntry | undefined {
    const now = this.now();
    const lifetimes = { createdAt: now - ageMs, freshUntil: now + freshForMs, staleUntil: now + staleForMs };
    if (value === undefined) {
      const held = this.options.local.lookup(key)?.entry;
      return held?.version === version ? { ...held, ...lifetimes } : undefined;
    }
    try {
      return { value: JSON.parse(value) as Json, version, bytes: Buffer.byteLength(value), ...lifetimes };
    } catch {
      return undefined;
    }
  }

  /** Keeps the newer of the store's entry and this process's copy here, and returns it. */
  private keepNewest(key: string, stored: CacheEntry): CacheEntry {
    const { local } = this.options;
    const slot = local.lookup(key);
    const newest = slot && slot.entry.version !== stored.version && slot.entry.createdAt > stored.createdAt ? slot.entry : stored;
    local.set(key, newest, this.now());
    return newest;
  }

  private recheck(key: string): void {
    if (this.rechecking.has(key)) return;
    this.rechecking.add(key);
    this.inBackground(
      this.readShared(key).then(
        () => void this.rechecking.delete(key),
        () => void this.rechecking.delete(key),
      ),
    );
  }

  /**
   * Forgets one key, the keys carrying a tag, or every key of this cache, here and in the shared store:
   * values, recorded failures and the leases of loads under way. Such a load then writes nothing back, here
   * or on any instance, and the next lookup loads again. Resolves with the entries deleted in the store
   * (in this process, without one); rejects when the store did not answer.
   */
  async purge(target: PurgeTarget): Promise<number> {
    const { local, shared, namespace } = this.options;
    if ("all" in target) {
      const held = local.size;
      local.clear();
      this.failures.clear();
      for (const flight of this.flights.values()) flight.ticket.detached = true;
      this.flights.clear();
      if (!shared) return held;
      const patterns = ["find", "lease", "fail"].map((kind) => `${namespace}:${kind}:*`);
      const [entries] = await Promise.all(patterns.map((pattern) => shared.deleteMatching(pattern)));
      return entries ?? 0;
    }
    const keys = "key" in target ? [target.key] : await this.keysTagged(target.tag);
    let deleted = 0;
    for (const key of keys) {
      if (!shared && local.lookup(key)) deleted += 1;
      this.forget(key);
    }
    if (!shared) return deleted;
    for (let start = 0; start < keys.length; start += PURGE_BATCH) {
      const batch = keys.slice(start, start + PURGE_BATCH);
      const counts = await Promise.all(batch.map((key) => shared.delete(this.keys(key))));
      deleted += counts.reduce((sum, count) => sum + count, 0);
    }
    return deleted;
  }

  /** The keys carrying `tag`: those this process has seen, and those in the tag's index in the store. */
  private async keysTagged(tag: string): Promise<string[]> {
    const { shared } = this.options;
    const known = [...this.tagsOf.entries()].filter(([, tags]) => tags.includes(tag)).map(([key]) => key);
    const indexed = shared ? await shared.members(this.tagIndex(tag)) : [];
    return [...new Set([...known, ...indexed])];
  }

  /** Drops this process's copy, failure and flight for `key`; a flight under way stores nothing when it lands. */
  private forget(key: string): void {
    this.options.local.delete(key);
    this.failures.delete(key);
    const flight = this.flights.get(key);
    if (flight) {
      flight.ticket.detached = true;
      this.flights.delete(key);
    }
  }

  /** The flight refreshing `key`: the one under way, or a new one unless the key is backing off. */
  private revalidate(key: string, load: Loader, policy: Policy): Flight | undefined {
    const flying = this.flights.get(key);
    if (flying || this.inBackoff(key)) return flying;
    return this.start(key, load, policy);
  }

  /** What `flight` lands, if it is fresher than `stale`; undefined otherwise, never a rejection. */
  private async fresherThan(stale: CacheEntry, flight: Flight): Promise<Lookup | undefined> {
    try {
      const { entry } = await flight.promise;
      const fresher = entry.createdAt > stale.createdAt && entry.freshUntil > this.now();
      return fresher ? { value: entry.value, source: "refreshed", createdAt: entry.createdAt } : undefined;
    } catch {
      // The refresh failed: it was logged where it happened, and the stale value stands.
      return undefined;
    }
  }

  private start(key: string, load: Loader, policy: Policy): Flight {
    const ticket: Ticket = { detached: false };
    const failure = this.failures.get(key);
    if (failure && failure.retryAt > this.now()) {
      this.stats.skippedLoads += 1;
      const refused = Promise.reject(failure.error);
      return { promise: refused, first: refused, loading: new Promise<void>(() => {}), ticket };
    }
    const notices = {} as FlightNotices;
    const stale = new Promise<CacheEntry>((resolve) => (notices.stale = resolve));
    const loading = new Promise<void>((resolve) => (notices.loading = resolve));
    const promise = this.fly(key, load, policy, ticket, notices).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    const first = Promise.race([stale.then((entry) => ({ stale: entry })), promise.then((landing) => ({ landing }))]);
    // A refresh nobody waits on (revalidation) rejects its first answer unobserved; its error was logged.
    first.catch(() => undefined);
    const flight: Flight = { promise, first, loading, ticket };
    this.flights.set(key, flight);
    // The load goes on after the caller stops waiting (a deadline, a stale answer): keep it alive, and
    // consume its failure here, since it was already logged and a waiting caller gets it anyway.
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.options.keepAlive?.(settled);
    return flight;
  }

  private inBackoff(key: string): boolean {
    const failure = this.failures.get(key);
    return failure !== undefined && failure.retryAt > this.now();
  }

  /**
   * One load for `key`, or none when the shared store has the value. Each claim reads the store and, when
   * the entry there is not fresh, tries to take the lease: a stale entry is answered at once through
   * `notices.stale` while the lease holder refreshes it. A failure recorded by any instance holds every
   * instance off the upstream until its backoff ends: they serve their stale entry or that failure.
   */
  private async fly(key: string, load: Loader, policy: Policy, ticket: Ticket, notices: FlightNotices): Promise<Landing> {
    const { shared } = this.options;
    const token = randomUUID();
    const loaded = async () => {
      notices.loading();
      return { entry: await this.loadAndStore(key, load, policy, ticket, token), loaded: true, waited: false };
    };
    if (!shared) return loaded();
    const keys = this.keys(key);
    // In the tags' indexes before the lease is taken, so a purge by tag reaches this load too.
    await this.index(key, policy.tags);
    const leaseMs = policy.loadTimeoutMs + LEASE_MARGIN_MS;
    const giveUpAt = this.now() + leaseMs + LEASE_MARGIN_MS;
    let pause = POLL_FIRST_MS;
    let failedClaims = 0;
    let waited = false;
    for (;;) {
      // The same token on every claim: a claim whose reply was lost may have taken the lease, and the
      // next one must find it ours rather than wait on it.
      const claim = await shared.claim(keys, token, leaseMs);
      // A failed claim leaves the lease unknown: ask once more, then go ahead alone rather than hold the
      // page on a store that does not answer.
      if (!claim && ++failedClaims >= MAX_FAILED_CLAIMS) return loaded();
      const { entry: stored, leased, failure } = claim ?? {};
      const fromStore = stored && this.fromStore(key, stored);
      const entry = fromStore && this.keepNewest(key, fromStore);
      if (entry) {
        if (entry.freshUntil > this.now()) return { entry, loaded: false, waited };
        notices.stale(entry);
      }
      if (failure) this.noteFailure(key, failure);
      if (leased) return loaded();
      // Another instance is refreshing this stale entry, or the key is backing off: serve what there is.
      if (entry) return { entry, loaded: false, waited };
      if (failure && failure.retryInMs > 0) {
        this.stats.skippedLoads += 1;
        throw this.failures.get(key)?.error ?? new SharedLoadError(failure.error);
      }
      if (!waited && claim) {
        waited = true;
        this.stats.coalesced += 1;
        notices.loading();
      }
      // A holder that died leaves a lease that expires; past that, nobody waits any longer.
      if (this.now() >= giveUpAt) return loaded();
      await sleep(pause);
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
  }

  /** Adds `key` to its tags' indexes in the store, unless this process did so recently. */
  private async index(key: string, tags: readonly string[]): Promise<void> {
    const { shared } = this.options;
    if (!shared || tags.length === 0 || this.indexed.has(key)) return;
    if (await shared.index(tags.map((tag) => this.tagIndex(tag)), key)) this.indexed.set(key, true);
  }

  /** Takes in a failure another instance recorded: its backoff, and its attempts for the next delay. */
  private noteFailure(key: string, { error, attempts, retryInMs }: StoredFailure): void {
    const known = this.failures.get(key);
    const retryAt = this.now() + retryInMs;
    if (!known || retryAt > known.retryAt) {
      this.failures.set(key, { error: new SharedLoadError(error), attempts: Math.max(attempts, known?.attempts ?? 0), retryAt });
    } else if (attempts > known.attempts) {
      this.failures.set(key, { ...known, attempts });
    }
  }

  /**
   * Calls the loader and fills the local tier. The caller gets the value at once; the shared store is
   * written in the background, in the same step that frees the lease held with `token`, so waiters always
   * find the value (or the failure, which holds the whole fleet off the upstream for its backoff).
   */
  private async loadAndStore(key: string, load: Loader, policy: Policy, ticket: Ticket, token: string): Promise<CacheEntry> {
    const { local, shared, maxValueBytes } = this.options;
    const { loadTimeoutMs, freshMs, graceMs } = policy;
    const started = this.now();
    this.stats.loads += 1;
    const controller = new AbortController();
    let text: string;
    try {
      const value = await withTimeout(traceUpstream(key, () => load(controller.signal)), loadTimeoutMs, () => {
        const error = new LoadTimeoutError(`load of "${key}" took over ${loadTimeoutMs} ms`);
        controller.abort(error);
        return error;
      });
      text = toJson(key, value);
    } catch (error) {
      const failure = this.recordFailure(key, error, started, ticket);
      if (shared) this.inBackground(shared.fail(this.keys(key), token, failure));
      throw error;
    }
    if (!ticket.detached) this.failures.delete(key);
    const now = this.now();
    const bytes = Buffer.byteLength(text);
    // Parsed back from its JSON, so this caller sees exactly what every later reader of the cache will.
    const entry: CacheEntry = { value: JSON.parse(text) as Json, version: token, bytes, createdAt: now, freshUntil: now + freshMs, staleUntil: now + freshMs + graceMs };
    logEvent("info", "upstream_call", { key, outcome: "ok", ms: now - started, bytes });
    if (bytes > maxValueBytes) {
      // What is measured is what would be stored: JSON escaping can double an answer under the upstream's cap.
      this.stats.uncacheable += 1;
      const error = new ValueTooLargeError(`the value of "${key}" is ${bytes} bytes as JSON, over the cache's ${maxValueBytes}`);
      const failure = this.recordFailure(key, error, started, ticket);
      if (shared) this.inBackground(shared.fail(this.keys(key), token, failure));
      return entry;
    }
    // A flight detached by a purge serves its callers but keeps nothing: the next lookup loads again.
    if (!ticket.detached) local.set(key, entry, now);
    if (shared) this.inBackground(shared.fill(this.keys(key), token, text, freshMs, graceMs));
    return entry;
  }

  /** Store writes never reject (the guard answers failures), so nothing here can go unhandled. */
  private inBackground(task: Promise<unknown>): void {
    this.options.keepAlive?.(task);
  }

  /** Backs the key off here, logs the failure once, and returns it as the fleet should record it. */
  private recordFailure(key: string, error: unknown, started: number, ticket: Ticket): FailureRecord {
    const { backoffBaseMs, backoffMaxMs } = this.options;
    const timedOut = error instanceof LoadTimeoutError;
    const tooLarge = error instanceof ValueTooLargeError;
    if (timedOut) this.stats.loadTimeouts += 1;
    else if (!tooLarge) this.stats.loadErrors += 1;
    const attempts = (this.failures.get(key)?.attempts ?? 0) + 1;
    const delay = Math.min(backoffBaseMs * 2 ** (attempts - 1), backoffMaxMs);
    // A purge came between: the key starts afresh, with no backoff.
    if (!ticket.detached) this.failures.set(key, { error, attempts, retryAt: this.now() + delay });
    logEvent("warn", "upstream_call", {
      key,
      outcome: timedOut ? "timeout" : tooLarge ? "too_large" : "error",
      ms: this.now() - started,
      error: describeError(error),
      retryInMs: delay,
    });
    // Kept past the backoff so the next failure, on any instance, backs off longer.
    return { error: describeError(error), attempts, retryInMs: delay, keepMs: delay + backoffMaxMs };
  }

  /** The key's entry, lease and failure record share the `{key}` hash tag: one Redis Cluster slot. */
  private keys(key: string): ItemKeys {
    const { namespace } = this.options;
    return { entry: `${namespace}:find:{${key}}`, lease: `${namespace}:lease:{${key}}`, failure: `${namespace}:fail:{${key}}` };
  }

  /** The set of keys carrying `tag`. */
  private tagIndex(tag: string): string {
    return `${this.options.namespace}:tag:{${tag}}`;
  }
}

/** The value as JSON text; throws a `NotJsonError` for a value JSON would change or drop. */
function toJson(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new NotJsonError(`load of "${key}" answered a value that is not JSON`, { cause: error });
  }
  if (text === undefined) throw new NotJsonError(`load of "${key}" answered a value that is not JSON (${typeof value})`);
  return text;
}
