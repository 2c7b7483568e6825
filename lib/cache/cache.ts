import "server-only";
import type { Json } from "../json";
import type { Origin } from "../origin";
import type { GuardedStore } from "../stores/guarded";
import { keyLayout, type KeyLayout } from "../stores/keys";
import type { MemoryStore } from "../stores/memory";
import type { CacheEntry } from "../stores/store";
import { Backoff } from "./backoff";
import { Bus, type BusStats } from "./bus";
import { isBusyError } from "./errors";
import { Gate } from "./gate";
import { countInto, emptyStats, logLoads, type CacheEvent, type CacheListener, type CacheStats } from "./events";
import { Loads, type FirstResult, type Load } from "./loads";
import type { Loader, Policy } from "./policy";
import { Purges, type PurgeOptions, type PurgeTarget } from "./purges";
import { TagIndex } from "./tags";
import { Tiers } from "./tiers";

/** The cache's answer for one key. */
export type Answer = {
  /** Null when the upstream found nothing (`notFound`). */
  value: Json;
  notFound?: true;
  origin: Origin;
  /** The load that made the value: unchanged by a renewal (a 304), so it can name the value to a client. */
  version: string;
  /** When the value was loaded, stops being fresh, stops being served stale, stops being kept (this process's clock). */
  createdAt: number;
  freshUntil: number;
  staleUntil: number;
  safeUntil: number;
  /**
   * For a stale value: the refresh it started or joined, with the fresh value once it lands (origin
   * `refreshed`), or undefined when no fresher value comes of it (it failed, or the key is backing off).
   */
  refreshed?: Promise<Answer | undefined>;
};

export type GetOptions = {
  /** Called if the answer has to wait for a load (here or on another instance). */
  onWaiting?: () => void;
};

export type CacheOptions = {
  local: MemoryStore;
  /** The store shared by every instance; without it the local tier is the only one. */
  shared?: GuardedStore;
  /** Prefix of every key this cache writes. @default the current namespace, `workerless:v4` */
  namespace?: string;
  /**
   * With a shared store: how long this process trusts its own copy before checking the store again, so
   * a purge or a refresh by another instance shows here within this time. At 0 every lookup checks its
   * copy against the store before serving it (the value itself is not sent again when it is unchanged).
   * @default 5000 ms
   */
  localTrustMs?: number;
  /**
   * Values whose JSON is larger than this (UTF-8 bytes) are served to the load's callers but not cached; the
   * key backs off as after a failure.
   */
  maxValueBytes: number;
  /** First wait after a failed load before that key's loader is called again; doubles up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /**
   * With a shared store: subscribe to the fleet's bus, so a purge or a fill anywhere reaches this process's
   * copies within milliseconds, and a lookup waiting on another instance's load wakes when it fills. Without,
   * or while it is down, the trust window alone bounds how long a change elsewhere goes unseen here.
   */
  bus?: { heartbeatMs: number };
  /** Keeps work that outlives a response running (Next's `after()`); plain Node needs nothing. */
  keepAlive?: (task: Promise<unknown>) => void;
  /** Hear every event besides the counters in `stats`. @default one log line per upstream call */
  listeners?: readonly CacheListener[];
  now?: () => number;
};

/** A Cluster's bus: as many sharded channels, each key's events on one, spread over the shards. */
const CLUSTER_BUS_CHANNELS = 4;

function answerOf(entry: CacheEntry, origin: Origin): Answer {
  const { value, notFound, version, createdAt, freshUntil, staleUntil, safeUntil } = entry;
  const answer = { value, origin, version, createdAt, freshUntil, staleUntil, safeUntil };
  return notFound ? { ...answer, notFound } : answer;
}
const HIT: CacheEvent = { type: "hit" };
const STALE: CacheEvent = { type: "stale" };
const MISS: CacheEvent = { type: "miss" };
const COALESCED: CacheEvent = { type: "coalesced" };
const EAGER: CacheEvent = { type: "eager-refresh" };
const FAIL_SAFE: CacheEvent = { type: "fail-safe" };

/**
 * A two-tier cache with stale-while-revalidate, stale-if-error and single-flight loads: one load per
 * key per process, and one across processes while they share a store (a lease held in the store).
 */
export class Cache {
  readonly stats: CacheStats = emptyStats();
  private readonly layout: KeyLayout;
  private readonly backoff: Backoff;
  private readonly tags: TagIndex;
  private readonly tiers: Tiers;
  private readonly loads: Loads;
  private readonly bus: Bus | undefined;
  private readonly purges: Purges;
  private readonly emit: CacheListener;
  private readonly now: () => number;

  constructor(private readonly options: CacheOptions) {
    const { local, shared, maxValueBytes, keepAlive } = options;
    const now = (this.now = options.now ?? Date.now);
    const listeners = [countInto(this.stats), ...(options.listeners ?? [logLoads])];
    this.emit = (event) => {
      for (const listener of listeners) listener(event);
    };
    const inBackground = (task: Promise<unknown>) => keepAlive?.(task);
    this.layout = keyLayout(options.namespace, shared?.kind === "redis-cluster" ? CLUSTER_BUS_CHANNELS : 1);
    this.backoff = new Backoff({ baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs, now });
    this.tags = new TagIndex(shared, this.layout, now, local.maxEntries);
    const gate = new Gate(shared, this.layout, now, inBackground);
    this.tiers = new Tiers({
      local,
      shared,
      layout: this.layout,
      localTrustMs: options.localTrustMs ?? 5000,
      now,
      inBackground,
    });
    this.bus =
      shared && options.bus
        ? new Bus({
            shared,
            layout: this.layout,
            heartbeatMs: options.bus.heartbeatMs,
            now,
            onChange: (change) => this.purges.heard(change),
            onResume: () => this.tiers.distrustAll(),
          })
        : undefined;
    this.loads = new Loads({
      local,
      shared,
      layout: this.layout,
      tiers: this.tiers,
      backoff: this.backoff,
      tags: this.tags,
      gate,
      bus: this.bus,
      maxValueBytes,
      emit: this.emit,
      now,
      inBackground,
    });
    this.purges = new Purges({
      local,
      shared,
      layout: this.layout,
      tags: this.tags,
      tiers: this.tiers,
      loads: this.loads,
      backoff: this.backoff,
      bus: this.bus,
      now,
    });
    this.bus?.start();
  }

  /** The bus's state and counters; undefined without a bus. */
  get busStats(): BusStats | undefined {
    return this.bus?.stats;
  }

  /** Stops listening to the bus (shutdown, tests). */
  close(): void {
    this.bus?.stop();
  }

  /** The value for `key`: from a cache when usable, otherwise from the one load under way for it. */
  async get(key: string, loader: Loader, policy: Policy, { onWaiting }: GetOptions = {}): Promise<Answer> {
    this.tags.note(key, policy.tags);
    const canLoad = !this.backoff.holding(key) && (this.loads.current(key) !== undefined || !this.loads.full(policy));
    const read = this.tiers.read(key, canLoad);
    const entry = read instanceof Promise ? await read : read;
    const now = this.now();
    if (entry && entry.freshUntil > now) {
      this.emit(HIT);
      this.refreshIfDue(key, entry, loader, policy, now);
      return answerOf(entry, "hit");
    }
    if (entry && entry.staleUntil > now) {
      this.emit(STALE);
      const refresh = this.revalidate(key, loader, policy);
      return { ...answerOf(entry, "stale"), refreshed: refresh && this.fresherThan(entry, refresh) };
    }
    // Past its grace, an entry kept for fail-safe is served only if the load fails.
    const kept = entry && entry.safeUntil > now ? entry : undefined;
    const joined = this.loads.current(key);
    if (joined) this.emit(COALESCED);
    const load = joined ?? this.loads.start(key, loader, policy);
    if (onWaiting) void load.waiting.then(onWaiting);
    let first: FirstResult;
    try {
      first = await load.first;
    } catch (error) {
      const fallback = load.purged ? undefined : (kept ?? load.fallback);
      if (fallback) {
        // The failure was logged where it happened; the last good value outlives the outage.
        this.emit(FAIL_SAFE);
        return answerOf(fallback, "fail-safe");
      }
      // A refused (busy) lookup started nothing: it is counted as busy, not as a miss.
      if (!joined && !isBusyError(error)) this.emit(MISS);
      throw error;
    }
    if ("stale" in first) {
      if (!joined) this.emit(STALE);
      const { stale } = first;
      return { ...answerOf(stale, "stale"), refreshed: this.fresherThan(stale, load) };
    }
    const { entry: landed, loadedHere, waited } = first.outcome;
    const origin: Origin =
      joined || waited ? "shared" : !loadedHere ? "hit" : load.revalidated ? "revalidated" : "miss";
    if (!joined) this.emit(origin === "hit" ? HIT : MISS);
    return answerOf(landed, origin);
  }

  /**
   * The version of `key`'s value when a lookup now would answer it fresh from this process alone (no store
   * round trip, nothing due: no eager refresh left to start), else undefined. Starts and counts nothing: a
   * rendered page made from these versions is as current as a new rendering would be.
   */
  freshLocalVersion(key: string, policy: Pick<Policy, "eagerRefresh">): string | undefined {
    const entry = this.tiers.trustedFresh(key);
    if (!entry) return undefined;
    const dueWithinMs = (1 - policy.eagerRefresh) * (entry.freshUntil - entry.createdAt);
    const due = policy.eagerRefresh > 0 && !entry.notFound && entry.freshUntil - this.now() <= dueWithinMs;
    return due && !this.loads.current(key) ? undefined : entry.version;
  }

  /**
   * Forgets one key, the keys carrying a tag, or every key of this cache, here, in the shared store and on
   * every instance that hears the bus (see `Purges`). Resolves with the entries deleted in the store (in this
   * process, without one); rejects when the store did not answer.
   */
  purge(target: PurgeTarget, options: PurgeOptions = {}): Promise<number> {
    return this.purges.purge(target, options);
  }

  /**
   * Starts an eager refresh of a fresh `entry` past its policy's share of freshness, unless one is under way
   * here, the key backs off or its group is full. Through the lease, so one instance of the fleet does it.
   */
  private refreshIfDue(key: string, entry: CacheEntry, loader: Loader, policy: Policy, now: number): void {
    if (policy.eagerRefresh <= 0 || entry.notFound) return;
    const dueWithinMs = (1 - policy.eagerRefresh) * (entry.freshUntil - entry.createdAt);
    if (entry.freshUntil - now > dueWithinMs) return;
    if (this.loads.current(key) || this.backoff.holding(key) || this.loads.full(policy)) return;
    this.emit(EAGER);
    // Its failure was logged where it happened, and the fresh value stands meanwhile.
    this.loads.start(key, loader, policy, dueWithinMs).outcome.catch(() => undefined);
  }

  /** The load refreshing `key`: the one under way, or a new one unless the key is backing off. */
  private revalidate(key: string, loader: Loader, policy: Policy): Load | undefined {
    const underWay = this.loads.current(key);
    // A refresh its group has no room for waits for a later view: the stale value stands meanwhile.
    if (underWay || this.backoff.holding(key) || this.loads.full(policy)) return underWay;
    return this.loads.start(key, loader, policy);
  }

  /** What `load` brings, if it is fresher than `stale`; undefined otherwise, never a rejection. */
  private async fresherThan(stale: CacheEntry, load: Load): Promise<Answer | undefined> {
    try {
      const { entry } = await load.outcome;
      const fresher = entry.createdAt > stale.createdAt && entry.freshUntil > this.now();
      return fresher ? answerOf(entry, load.revalidated ? "revalidated" : "refreshed") : undefined;
    } catch {
      // The refresh failed: it was logged where it happened, and the stale value stands.
      return undefined;
    }
  }
}
