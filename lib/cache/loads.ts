import { randomUUID } from "node:crypto";
import type { Json } from "../json";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { MemoryStore } from "../stores/memory";
import type { CacheEntry } from "../stores/store";
import { sleep, withTimeout } from "../timeout";
import { traceUpstream } from "../tracing";
import type { Backoff } from "./backoff";
import type { Bus, Watch } from "./bus";
import { isNotFound, isNotModified, lifetimesOf, retryAfterOf, settingsInto, timesFrom, toJson } from "./answers";
import { asLoadError, BusyError, LoadTimeoutError, originalError, ValueTooLargeError } from "./errors";
import type { Gate } from "./gate";
import type { CacheListener } from "./events";
import { adviseInto, type LoadAdvice } from "../upstream-advice";
import type { Loader, Policy } from "./policy";
import type { TagIndex } from "./tags";
import { NOT_FOUND_TEXT, type Tiers } from "./tiers";

/**
 * How a load ended: `loadedHere` when this process called the loader; otherwise the entry came from the
 * shared store, `waited` telling whether this process first waited there for another instance's load.
 */
export type LoadOutcome = { entry: CacheEntry; loadedHere: boolean; waited: boolean };

/** A load's first usable result: a stale entry the store had (while the load refreshes it), or its outcome. */
export type FirstResult = { stale: CacheEntry } | { outcome: LoadOutcome };

/** The one load under way for a key in this process, which every lookup of that key joins. */
export type Load = {
  outcome: Promise<LoadOutcome>;
  first: Promise<FirstResult>;
  /** Settles once the load calls the loader or waits on another instance's load. */
  waiting: Promise<void>;
  /** Set by a purge of its key: the load then serves its callers and stores nothing. */
  purged: boolean;
  /** An entry past its grace the store still keeps (fail-safe): what callers get if this load fails. */
  fallback?: CacheEntry;
  /** Set when the upstream answered 304: the value held was renewed, not loaded again. */
  revalidated?: boolean;
};

type Notices = { stale(entry: CacheEntry): void; waiting(): void };

export type LoadsOptions = {
  local: MemoryStore;
  shared: GuardedStore | undefined;
  layout: KeyLayout;
  tiers: Tiers;
  backoff: Backoff;
  tags: TagIndex;
  gate: Gate;
  /** The fleet's bus, when there is one: a lookup waiting on another instance's load wakes when it fills. */
  bus: Bus | undefined;
  /** Values whose JSON is larger than this (UTF-8 bytes) are served to the load's callers but not cached. */
  maxValueBytes: number;
  emit: CacheListener;
  now: () => number;
  /** Keeps work that outlives a response running. Store writes never reject (the guard answers failures). */
  inBackground: (task: Promise<unknown>) => void;
};

const LEASE_MARGIN_MS = 1000;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 250;
const MAX_FAILED_CLAIMS = 2;

/**
 * Single-flight loads: one per key per process, and one across processes while they share a store (a lease
 * held in the store, taken in the same round trip that reads the entry).
 */
export class Loads {
  private readonly underWay = new Map<string, Load>();
  /** When each load under way started, by group: how many there are, and when the oldest must be over. */
  private readonly groups = new Map<string, Map<Load, number>>();

  constructor(private readonly options: LoadsOptions) {}

  /** The load under way for `key`, if any. */
  current(key: string): Load | undefined {
    return this.underWay.get(key);
  }

  /** Whether `policy`'s group has its most loads under way in this process. */
  full(policy: Policy): boolean {
    return (this.groups.get(policy.group.name)?.size ?? 0) >= policy.group.maxInFlight;
  }

  /**
   * Starts the load of `key`; one that fails at once while the key backs off (with its failure) or while its
   * group has its most loads under way (with a `BusyError`). An eager refresh passes `dueWithinMs`: it loads
   * only if the store's entry has no more freshness than that left and no other instance is refreshing it.
   */
  start(key: string, loader: Loader, policy: Policy, dueWithinMs = 0): Load {
    const held = this.options.backoff.holding(key);
    if (held) {
      this.options.emit({ type: "load-skipped" });
      return refusedLoad(held.error);
    }
    const { name: groupName, maxInFlight } = policy.group;
    const group = this.groups.get(groupName) ?? new Map<Load, number>();
    if (group.size >= maxInFlight) {
      this.options.emit({ type: "busy", group: groupName });
      const oldest = Math.min(...group.values());
      const retryAfterMs = Math.max(1000, oldest + policy.upstreamTimeoutMs + LEASE_MARGIN_MS - this.options.now());
      return refusedLoad(
        new BusyError(`"${groupName}" has ${group.size} loads under way, its most in this process`, retryAfterMs),
      );
    }
    const notices = {} as Notices;
    const stale = new Promise<CacheEntry>((resolve) => (notices.stale = resolve));
    const waiting = new Promise<void>((resolve) => (notices.waiting = resolve));
    const load = { waiting, purged: false } as Load;
    group.set(load, this.options.now());
    this.groups.set(groupName, group);
    load.outcome = this.claimOrLoad(key, loader, policy, load, notices, dueWithinMs).finally(() => {
      if (this.underWay.get(key) === load) this.underWay.delete(key);
      group.delete(load);
      if (group.size === 0 && this.groups.get(groupName) === group) this.groups.delete(groupName);
    });
    load.first = Promise.race([
      stale.then((entry) => ({ stale: entry })),
      load.outcome.then((outcome) => ({ outcome })),
    ]);
    // A refresh nobody waits on (revalidation) rejects its first result unobserved; its error was logged.
    load.first.catch(() => undefined);
    this.underWay.set(key, load);
    // The load goes on after the caller stops waiting (a deadline, a stale answer): keep it alive, and
    // consume its failure here, since it was already logged and a waiting caller gets it anyway.
    this.options.inBackground(
      load.outcome.then(
        () => undefined,
        () => undefined,
      ),
    );
    return load;
  }

  /** Marks the load of `key` purged and forgets it: it stores nothing when it ends. */
  purge(key: string): void {
    const load = this.underWay.get(key);
    if (!load) return;
    load.purged = true;
    load.fallback = undefined;
    this.underWay.delete(key);
  }

  purgeAll(): void {
    for (const load of this.underWay.values()) Object.assign(load, { purged: true, fallback: undefined });
    this.underWay.clear();
  }

  /**
   * One load for `key`, or none when the shared store has the value. Each claim reads the store and, when
   * the entry there is not fresh, tries to take the lease: a stale entry is answered at once through
   * `notices.stale` while the lease holder refreshes it. A failure recorded by any instance holds every
   * instance off the upstream until its backoff ends: they serve their stale entry or that failure. An eager
   * refresh (`dueWithinMs` > 0) takes the lease of a fresh entry that is due, and otherwise answers it.
   */
  private async claimOrLoad(
    key: string,
    loader: Loader,
    policy: Policy,
    load: Load,
    notices: Notices,
    dueWithinMs: number,
  ): Promise<LoadOutcome> {
    const { shared, layout, tiers, backoff, tags, gate, bus, now, emit } = this.options;
    const token = randomUUID();
    const loadHere = async (held: Promise<BusyError | undefined>): Promise<LoadOutcome> => {
      notices.waiting();
      return {
        entry: await this.loadAndStore(key, loader, policy, load, token, held),
        loadedHere: true,
        waited: false,
      };
    };
    if (!shared) return loadHere(gate.held(policy.group));
    const keys = layout.item(key);
    // In the tags' indexes before the lease is taken, so a purge by tag reaches this load too.
    const leaseMs = policy.upstreamTimeoutMs + LEASE_MARGIN_MS;
    await tags.index(key, policy.tags, leaseMs + policy.freshMs + Math.max(policy.graceMs, policy.failSafeMs));
    // Asked in the same round trip as the first claim: whether the upstream asked the source to wait.
    const held = gate.held(policy.group);
    const giveUpAt = now() + leaseMs + LEASE_MARGIN_MS;
    let pause = POLL_FIRST_MS;
    let failedClaims = 0;
    let waited = false;
    let awaitedRefresh = false;
    for (;;) {
      // Taken before the claim: a change heard between the store's answer and the wait below still wakes it.
      const watch = bus?.watch(key);
      try {
        // The same token on every claim: a claim whose reply was lost may have taken the lease, and the
        // next one must find it ours rather than wait on it.
        const claim = await shared.claim(keys, token, leaseMs, dueWithinMs);
        // A failed claim leaves the lease unknown: ask once more, then go ahead alone rather than hold the
        // page on a store that does not answer.
        if (!claim && ++failedClaims >= MAX_FAILED_CLAIMS) return loadHere(held);
        const { entry: stored, leased, failure } = claim ?? {};
        const kept = stored && tiers.reconcile(key, stored);
        // Past its grace an entry is served only if this load fails: the caller keeps it for that.
        if (kept && kept.staleUntil <= now()) load.fallback = kept;
        const entry = kept && kept.staleUntil > now() ? kept : undefined;
        const fresh = entry !== undefined && entry.freshUntil > now();
        // A fresh entry comes with the lease only to an eager refresh, when it is due.
        if (fresh && !leased) return { entry, loadedHere: false, waited };
        if (entry && !fresh) notices.stale(entry);
        if (failure) backoff.note(key, failure);
        if (leased) return loadHere(held);
        if (entry) {
          // Another instance is refreshing this stale entry, or the key is backing off: its callers have the
          // stale value. With the bus up, this load waits once for that refresh's fill, so a page still
          // within its deadline shows the fresh value in the same response.
          if (failure || awaitedRefresh || !bus?.up) return { entry, loadedHere: false, waited };
          awaitedRefresh = true;
          await changeOrTimeout(watch, giveUpAt - now());
          continue;
        }
        if (failure && failure.retryInMs > 0) {
          emit({ type: "load-skipped" });
          throw backoff.errorFor(key, failure);
        }
        if (!waited && claim) {
          waited = true;
          emit({ type: "coalesced" });
          notices.waiting();
        }
        // A holder that died leaves a lease that expires; past that, nobody waits any longer.
        if (now() >= giveUpAt) return loadHere(held);
        // The holder's fill wakes this wait through the bus; polling covers a bus that is down or missed it.
        await changeOrTimeout(watch, bus?.up ? POLL_MAX_MS : pause);
        pause = Math.min(pause * 2, POLL_MAX_MS);
      } finally {
        watch?.close();
      }
    }
  }

  /**
   * Calls the loader and fills the local tier. The caller gets the value at once; the shared store is
   * written in the background, in the same step that frees the lease held with `token`, so waiters always
   * find the value (or the failure, which holds the whole fleet off the upstream for its backoff). No call
   * when the source's gate is closed (`held`, or no rate slot): the lease goes back unwritten.
   */
  private async loadAndStore(
    key: string,
    loader: Loader,
    policy: Policy,
    load: Load,
    token: string,
    held: Promise<BusyError | undefined>,
  ): Promise<CacheEntry> {
    const { local, shared, layout, maxValueBytes, gate, tags, now, emit } = this.options;
    const { upstreamTimeoutMs } = policy;
    // A source with a rate takes its slot now, when it is sure to call: a claim that found the value takes none.
    const closed = (await held) ?? (policy.group.rate ? await gate.take(policy.group) : undefined);
    if (closed) {
      // No call: the lease goes back unwritten, and the key is not backed off (the source is, or is at its rate).
      emit({ type: "gate-closed", reason: closed.reason });
      if (shared) this.options.inBackground(shared.release(layout.item(key), token));
      throw closed;
    }
    const started = now();
    emit({ type: "load" });
    const fail = (error: unknown) => {
      const failure = asLoadError(error);
      // The upstream asked to wait: the whole source waits that long, on every instance, and so does this key.
      const waitMs = retryAfterOf(originalError(failure));
      const heldMs = waitMs === undefined ? undefined : gate.hold(policy.group, waitMs);
      // A purge came between: the key starts afresh, with no backoff.
      const record = this.options.backoff.record(key, failure, !load.purged, heldMs);
      emit({ type: "load-failed", key, ms: now() - started, error: failure, retryInMs: record.retryInMs });
      if (shared) this.options.inBackground(shared.fail(layout.item(key), token, record));
      return failure;
    };
    const controller = new AbortController();
    // A refresh of a value with validators asks the upstream whether it changed: a 304 renews it as it is.
    const previous = local.slot(key)?.entry;
    const conditional = policy.http.obey && !previous?.notFound ? previous?.validators : undefined;
    const advice: LoadAdvice = conditional ? { conditional } : {};
    const set = settingsInto(advice);
    let text: string;
    let notFound = false;
    try {
      const value = await withTimeout(
        traceUpstream(key, () => adviseInto(advice, () => loader(controller.signal, set))),
        upstreamTimeoutMs,
        () => {
          const error = new LoadTimeoutError(`load of "${key}" took over ${upstreamTimeoutMs} ms`);
          controller.abort(error);
          return error;
        },
      );
      text = toJson(key, value);
    } catch (error) {
      if (previous && conditional && isNotModified(error))
        return this.renew(key, previous, policy, advice, load, token);
      // Nothing there is an answer: kept a short while, so a crawler walking bad ids costs one call per id.
      if (!isNotFound(error)) throw fail(error);
      notFound = true;
      text = NOT_FOUND_TEXT;
    }
    const at = now();
    const bytes = Buffer.byteLength(text);
    const lifetimes = notFound
      ? { freshMs: policy.notFoundMs, graceMs: 0, failSafeMs: 0 }
      : lifetimesOf(policy, advice);
    // The upstream said `no-store`: its callers are served, nothing is kept, and the lease goes back unwritten.
    const keep = !(policy.http.obey && advice.noStore);
    // Parsed back from its JSON, so this caller sees exactly what every later reader of the cache will.
    const entry: CacheEntry = {
      value: notFound ? null : (JSON.parse(text) as Json),
      ...(notFound && { notFound: true as const }),
      version: token,
      bytes,
      ...timesFrom(at, lifetimes),
      ...(advice.validators && { validators: advice.validators }),
    };
    emit({ type: "loaded", key, ms: at - started, bytes, notFound });
    if (bytes > maxValueBytes) {
      // What is measured is what would be stored: JSON escaping can double an answer under the upstream's cap.
      fail(
        new ValueTooLargeError(`the value of "${key}" is ${bytes} bytes as JSON, over the cache's ${maxValueBytes}`),
      );
      return entry;
    }
    if (!load.purged) this.options.backoff.clear(key);
    if (!keep) {
      if (shared) this.options.inBackground(shared.release(layout.item(key), token));
      return entry;
    }
    // A load purged while under way serves its callers but keeps nothing: the next lookup loads again.
    if (!load.purged) local.set(key, entry, at);
    // Tags the loader added are in their indexes before the value is, so a purge by them always reaches it;
    // so are all its tags again when it lives longer than its policy said (the upstream's headers, `set`).
    const added = advice.tags ?? [];
    const indexed = lifetimes.freshMs > policy.freshMs ? [...policy.tags, ...added] : added;
    const lifetimeMs = lifetimes.freshMs + Math.max(lifetimes.graceMs, lifetimes.failSafeMs);
    if (indexed.length > 0) await tags.add(key, indexed, lifetimeMs);
    if (shared) this.options.inBackground(shared.fill(layout.item(key), token, text, lifetimes, entry.validators));
    return entry;
  }

  /**
   * The upstream answered 304 to a conditional refresh: `previous` stays, fresh again for as long as the 304's
   * headers (or the policy) say, here and, in the step that frees the lease, in the shared store, where only
   * its lifetimes change. Nothing was read, parsed or checked.
   */
  private renew(
    key: string,
    previous: CacheEntry,
    policy: Policy,
    advice: LoadAdvice,
    load: Load,
    token: string,
  ): CacheEntry {
    const { local, shared, layout, now, emit } = this.options;
    const at = now();
    const lifetimes = lifetimesOf(policy, advice);
    const entry: CacheEntry = { ...previous, ...timesFrom(at, lifetimes) };
    load.revalidated = true;
    emit({ type: "revalidated", key });
    if (!load.purged) {
      this.options.backoff.clear(key);
      local.set(key, entry, at);
    }
    if (shared) this.options.inBackground(shared.renew(layout.item(key), token, previous.version, lifetimes));
    return entry;
  }
}

/** Settles at the watched key's next change, or after `ms`, whichever comes first. */
async function changeOrTimeout(watch: Watch | undefined, ms: number): Promise<void> {
  if (!watch) return sleep(ms);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
  try {
    await Promise.race([watch.changed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A load that fails at once with `error`, starting nothing. */
function refusedLoad(error: Error): Load {
  const refused = Promise.reject(error);
  return { outcome: refused, first: refused, waiting: new Promise<void>(() => {}), purged: false };
}
