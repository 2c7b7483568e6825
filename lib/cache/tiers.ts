import type { Json } from "../json";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { MemoryStore } from "../stores/memory";
import type { CacheEntry, StoredEntry } from "../stores/store";

/** How a "not found" answer is stored: no JSON text is empty, so it can be no value's. */
export const NOT_FOUND_TEXT = "";

export type TiersOptions = {
  local: MemoryStore;
  shared: GuardedStore | undefined;
  layout: KeyLayout;
  /** How long this process trusts its own copy before checking the shared store again; 0: on every lookup. */
  localTrustMs: number;
  now: () => number;
  /** Keeps a background check alive past the response that started it. */
  inBackground: (task: Promise<unknown>) => void;
};

/**
 * The in-process tier and the shared store, reconciled: which entry a lookup may use, placed on this process's
 * clock, and the newer of two copies kept here.
 */
export class Tiers {
  private readonly rechecking = new Set<string>();
  /** Keys whose copy here the bus said changed elsewhere: checked against the store before it is served. */
  private readonly unchecked = new Set<string>();
  /** Reads of the store under way, by key, and whether the bus told of a change of that key meanwhile. */
  private readonly reading = new Map<string, { count: number; changed: boolean }>();
  /** Copies stored before this moment are rechecked on their next use, as past the trust window. */
  private trustedSince = 0;

  constructor(private readonly options: TiersOptions) {}

  /**
   * This process's usable entry for `key`. A stale copy is first checked against the shared store, which may
   * hold a newer one, and so is a fresh one when the trust window is 0. With no copy at all the store is not
   * read here (a load's claim reads it in the same round trip that takes the lease) unless no load may start
   * (`canLoad` false: the key is backing off, or its group has its most loads under way), when only a read can
   * still find a value to serve. Synchronous unless the store is read, so the lookups of one page view reach
   * the store in the same tick and share one round trip.
   */
  read(key: string, canLoad: boolean): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const { local, shared, localTrustMs, now } = this.options;
    const slot = local.slot(key);
    if (!shared) return slot?.entry;
    const at = now();
    if (slot && slot.entry.freshUntil > at && localTrustMs > 0 && !this.unchecked.has(key)) {
      // A fresh copy is served at once, so a warm page never waits on Redis; past the trust window it is
      // checked in the background, and a purge or newer value elsewhere shows from the next request on.
      if (at - slot.storedAt >= localTrustMs || slot.storedAt < this.trustedSince) this.recheck(key);
      return slot.entry;
    }
    return slot || !canLoad ? this.readShared(key) : undefined;
  }

  /** The bus told that `key` has a new value (`version`), or new lifetimes, elsewhere: the copy here is checked first. */
  changed(key: string, version?: string): void {
    const reading = this.reading.get(key);
    if (reading) reading.changed = true;
    const slot = this.options.local.slot(key);
    if (!slot || (version === slot.entry.version && slot.entry.freshUntil > this.options.now())) return;
    // Bounded like the tier: past that many, every copy is rechecked instead (evicted keys leave no mark).
    if (this.unchecked.size >= this.options.local.maxEntries) {
      this.unchecked.clear();
      this.distrustAll();
    }
    this.unchecked.add(key);
  }

  /** The copy here is gone: purged here or elsewhere. */
  forget(key: string): void {
    const reading = this.reading.get(key);
    if (reading) reading.changed = true;
    this.unchecked.delete(key);
    this.options.local.delete(key);
  }

  forgetAll(): void {
    for (const reading of this.reading.values()) reading.changed = true;
    this.unchecked.clear();
    this.options.local.clear();
  }

  /** Changes may have gone unheard (the bus was down): every copy is rechecked on its next use. */
  distrustAll(): void {
    this.trustedSince = this.options.now();
  }

  /**
   * This process's copy of `key` if a lookup now would serve it as it is, asking nothing of the shared store:
   * fresh, and within the trust window (always, without a shared store; never, at a trust window of 0), and
   * not marked by the bus as changed elsewhere.
   */
  trustedFresh(key: string): CacheEntry | undefined {
    const { local, shared, localTrustMs, now } = this.options;
    const slot = local.slot(key);
    const at = now();
    if (!slot || slot.entry.freshUntil <= at) return undefined;
    if (!shared) return slot.entry;
    // As `read` has it: a copy the bus said changed elsewhere, or held across a gap in the bus, is checked first.
    const trusted = at - slot.storedAt < localTrustMs && slot.storedAt >= this.trustedSince;
    return trusted && !this.unchecked.has(key) ? slot.entry : undefined;
  }

  /**
   * The shared store's entry, reconciled with this process's copy. The store is told which version this
   * process holds and leaves the value out of its answer when that is still the one it has.
   */
  private async readShared(key: string): Promise<CacheEntry | undefined> {
    const { local, shared, layout } = this.options;
    const slot = local.slot(key);
    const reading = this.reading.get(key) ?? { count: 0, changed: false };
    reading.count += 1;
    this.reading.set(key, reading);
    let remote: Awaited<ReturnType<GuardedStore["read"]>>;
    try {
      remote = await shared?.read(layout.item(key), slot?.entry.version);
    } finally {
      reading.count -= 1;
      if (reading.count === 0) this.reading.delete(key);
    }
    // The store did not answer: what this process holds is the best there is.
    if (remote === undefined) return slot?.entry;
    // The bus told of a change while this read was on its way: its answer may predate it. A load asks again.
    if (reading.changed) return undefined;
    this.unchecked.delete(key);
    // Gone from the store (purged, or never stored there): this copy must not outlive it.
    const stored = remote ? this.reconcile(key, remote) : undefined;
    if (!stored) local.delete(key);
    return stored;
  }

  private recheck(key: string): void {
    if (this.rechecking.has(key)) return;
    this.rechecking.add(key);
    const done = () => void this.rechecking.delete(key);
    this.options.inBackground(this.readShared(key).then(done, done));
  }

  /**
   * An entry of the store placed on this process's clock and kept here if it is the newest copy; what is
   * kept is returned. Undefined when it cannot be used: no value and not the version held here, or a value
   * that is not JSON (written by something else).
   */
  reconcile(key: string, stored: StoredEntry): CacheEntry | undefined {
    const entry = this.placed(key, stored);
    return entry && this.keepNewest(key, entry);
  }

  /** An entry of the store, placed on this process's clock (the store measures ages and lifetimes on its own). */
  private placed(
    key: string,
    { value, version, ageMs, freshForMs, staleForMs, safeForMs, validators }: StoredEntry,
  ): CacheEntry | undefined {
    const now = this.options.now();
    const lifetimes = {
      createdAt: now - ageMs,
      freshUntil: now + freshForMs,
      staleUntil: now + staleForMs,
      safeUntil: now + safeForMs,
    };
    if (value === undefined) {
      const held = this.options.local.slot(key)?.entry;
      return held?.version === version ? { ...held, ...lifetimes } : undefined;
    }
    if (value === NOT_FOUND_TEXT) return { value: null, notFound: true, version, bytes: 0, ...lifetimes };
    try {
      const parsed = JSON.parse(value) as Json;
      return {
        value: parsed,
        version,
        bytes: Buffer.byteLength(value),
        ...lifetimes,
        ...(validators && { validators }),
      };
    } catch {
      return undefined;
    }
  }

  /** Keeps the newer of the store's entry and this process's copy here, and returns it. */
  private keepNewest(key: string, stored: CacheEntry): CacheEntry {
    const { local, now } = this.options;
    const slot = local.slot(key);
    const newest =
      slot && slot.entry.version !== stored.version && slot.entry.createdAt > stored.createdAt ? slot.entry : stored;
    local.set(key, newest, now());
    return newest;
  }
}
