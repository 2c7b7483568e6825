import { randomUUID } from "node:crypto";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { MemoryStore } from "../stores/memory";
import type { CacheEntry } from "../stores/store";
import { sleep } from "../timeout";
import type { Backoff } from "./backoff";
import type { Bus, Watch } from "./bus";
import { BusyError } from "./errors";
import type { Gate } from "./gate";
import type { CacheListener } from "./events";
import type { Loader, Policy } from "./policy";
import type { TagIndex } from "./tags";
import type { Tiers } from "./tiers";
import { UpstreamCalls } from "./upstream-calls";

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
  private readonly calls: UpstreamCalls;
  private readonly underWay = new Map<string, Load>();
  /** When each load under way started, by group: how many there are, and when the oldest must be over. */
  private readonly groups = new Map<string, Map<Load, number>>();

  constructor(private readonly options: LoadsOptions) {
    this.calls = new UpstreamCalls(options);
  }

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
        entry: await this.calls.loadAndStore(key, loader, policy, load, token, held),
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
