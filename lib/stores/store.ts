import type { Json } from "../json";

/**
 * One cached value and the moments it stops being fresh and stops being usable, on this process's clock
 * (epoch ms). `version` names the load that made it; `bytes` is the size of its JSON text.
 */
export type CacheEntry = {
  /** Null for a "not found" answer, which is cached for a short while like a value. */
  value: Json;
  /** The upstream found nothing for this key (a 404, or the loader said so). */
  notFound?: true;
  version: string;
  bytes: number;
  createdAt: number;
  freshUntil: number;
  staleUntil: number;
  /** Until when it is kept, past its grace, to be served while refreshes fail (fail-safe). */
  safeUntil: number;
  /** The upstream's ETag and Last-Modified for this value, for a conditional refresh. */
  validators?: Validators;
};

/**
 * An entry as the shared store tells it: its JSON text and the version of the load that stored it, with
 * ages and remaining lifetimes measured on the store's own clock, so instances whose clocks disagree still
 * agree on what is fresh. `value` is left out of a read's answer when the reader already holds `version`.
 */
export type StoredEntry = {
  value?: string;
  version: string;
  ageMs: number;
  freshForMs: number;
  /** Negative once grace has passed: the entry is kept only for fail-safe, for `safeForMs` more. */
  staleForMs: number;
  safeForMs: number;
  /** Sent with the value, and left out with it. */
  validators?: Validators;
};

/** A failed load recorded for the whole fleet; `retryInMs` ≤ 0 once its backoff has passed. */
export type StoredFailure = { error: string; attempts: number; retryInMs: number };

/** A failure as a load records it for the fleet: kept `keepMs`, so attempts keep counting across backoffs. */
export type FailureRecord = StoredFailure & { keepMs: number };

/**
 * The keys of one cached item. They share a hash tag, so one script may use them all on a Redis Cluster.
 * `bus` is the channel its changes are published on.
 */
export type ItemKeys = { entry: string; lease: string; failure: string; bus: string };

/** What a subscription to the bus hears: each message, and the loss of the connection that carried them. */
export type BusListener = { message(text: string): void; lost(reason: string): void };

/** A subscription to the bus's channels, held on a connection of its own until closed. */
export type BusSubscription = { close(): void };

export type Claim = {
  /** The entry, value included, when it is still within grace. */
  entry?: StoredEntry & { value: string };
  /** Whether the caller holds the lease now (taken by this claim, or by an earlier one with the same token). */
  leased: boolean;
  /** The key's last recorded failure; while its backoff lasts nobody is given the lease. */
  failure?: StoredFailure;
};

export type StoreKind = "upstash" | "redis" | "redis-cluster";

/** What the upstream said identifies its answer: sent back on a refresh, so it may answer 304 Not Modified. */
export type Validators = { etag?: string; lastModified?: string };

/** How long a stored value is fresh, then stale for a refresh, then kept for when refreshes fail. */
export type Lifetimes = { freshMs: number; graceMs: number; failSafeMs: number };

/** Where a source's gate lives: its hold and its rate slots (one hash tag: one script, one Cluster slot). */
export type GateKeys = { hold: string; slots: readonly string[] };

/** Whether a call may go to the upstream now; if not, why, and how long until it may. */
export type GateAnswer = { open: true } | { open: false; reason: "held" | "rate"; retryInMs: number };

/** How long a key stays in a tag's index, in ms since the epoch (the adding instance's clock) and ms. */
export type IndexTerm = {
  /** Until when `member` is listed. */
  untilMs: number;
  /** Members listed until before this are dropped. */
  dropBeforeMs: number;
  /** The set lives at least this much longer. */
  keepMs: number;
};

/** A store shared by every instance of the app; every key it writes expires on the store's clock. */
export type SharedStore = {
  readonly kind: StoreKind;
  /** Null when the key holds no usable entry; the value is left out when it is `knownVersion`. */
  read(keys: ItemKeys, knownVersion?: string): Promise<StoredEntry | null>;
  /**
   * In one atomic step: the entry if it is fresh; otherwise the entry if still within grace, the key's
   * failure record, and (unless a failure's backoff lasts) an attempt at the lease, set-if-absent with an
   * expiry. A lease that already holds `token` is the caller's: a retry after a lost reply keeps it.
   */
  claim(keys: ItemKeys, token: string, leaseMs: number, dueWithinMs?: number): Promise<Claim>;
  /**
   * After a load succeeded, if the lease still holds `token`: stores `value` (version `token`) fresh for
   * `freshMs` then stale for `graceMs`, forgets the key's failure and frees
   * the lease. Resolves false when the lease did not hold the token (the key was purged): nothing written.
   */
  fill(keys: ItemKeys, token: string, value: string, lifetimes: Lifetimes, validators?: Validators): Promise<boolean>;
  /**
   * After a 304 to a conditional refresh, if the lease still holds `token` and the entry is still `version`:
   * keeps the value with new lifetimes (the `RENEW` script), and frees the lease; false as for `fill`.
   */
  renew(keys: ItemKeys, token: string, version: string, lifetimes: Lifetimes): Promise<boolean>;
  /**
   * After a load failed, if the lease still holds `token`: records the failure for the fleet (kept
   * `keepMs`, so attempts keep counting across backoffs) and frees the lease; false as for `fill`.
   */
  fail(keys: ItemKeys, token: string, failure: FailureRecord): Promise<boolean>;
  /** Takes a rate slot for `windowMs` unless the source is held or has no slot free (the `GATE` script). */
  gate(keys: GateKeys, windowMs: number): Promise<GateAnswer>;
  /** Holds the source off its upstream for `ms`, unless it is held longer already. */
  hold(keys: GateKeys, ms: number): Promise<void>;
  /** Frees the lease if it still holds `token`, writing nothing: a load that never called. */
  release(keys: ItemKeys, token: string): Promise<void>;
  /** Makes a fresh entry stale now, keeping its value for its grace (the `SOFTEN` script); 1 when it was fresh. */
  soften(keys: ItemKeys): Promise<number>;
  /** Deletes the item's entry, lease and failure record; resolves with how many entries were deleted. */
  delete(keys: ItemKeys): Promise<number>;
  /** Adds `member` to each tag index in `sets` for `term` (the `INDEX` script); a set expires after its last member. */
  index(sets: readonly string[], member: string, term: IndexTerm): Promise<void>;
  /** The members of a tag index (those past their term included, until the next `index` drops them). */
  members(set: string): Promise<string[]>;
  /** Deletes every key matching a glob `pattern`, on every node, in batches; resolves with how many were deleted. */
  deleteMatching(pattern: string): Promise<number>;
  /** Publishes `message` on a bus channel (sharded on a Cluster: it stays on the channel's shard). */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Subscribes to the bus's `channels` on a connection of its own. Messages published from inside the
   * scripts (the step that changed an entry) or by `publish` reach `listener` until the subscription is closed.
   */
  subscribe(channels: readonly string[], listener: BusListener): BusSubscription;
  ping(): Promise<void>;
};
