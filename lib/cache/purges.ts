import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { MemoryStore } from "../stores/memory";
import type { Backoff } from "./backoff";
import type { Bus, BusChange } from "./bus";
import type { Loads } from "./loads";
import type { TagIndex } from "./tags";
import type { Tiers } from "./tiers";

/** What a purge forgets: one key, every key carrying a tag, or every key of this cache. */
export type PurgeTarget = { key: string } | { tag: string } | { all: true };

export type PurgeOptions = {
  /**
   * Soft: a fresh value becomes stale now instead of going, so the next view shows it at once and the fresh
   * one in the same response when its refresh lands in time. Only for keys and tags.
   */
  soft?: boolean;
};

export type PurgesOptions = {
  local: MemoryStore;
  shared: GuardedStore | undefined;
  layout: KeyLayout;
  tags: TagIndex;
  tiers: Tiers;
  loads: Loads;
  backoff: Backoff;
  bus: Bus | undefined;
  now: () => number;
};

const PURGE_BATCH = 100;

/** What the cache forgets: what a purge here asks for, and what the bus tells of purges and fills elsewhere. */
export class Purges {
  constructor(private readonly options: PurgesOptions) {}

  /**
   * Forgets one key, the keys carrying a tag, or every key of this cache, here and in the shared store:
   * values, recorded failures and the leases of loads under way. Such a load then writes nothing back, here
   * or on any instance, and the next lookup loads again. Resolves with the entries deleted in the store
   * (in this process, without one); rejects when the store did not answer.
   */
  async purge(target: PurgeTarget, { soft = false }: PurgeOptions = {}): Promise<number> {
    const { local, shared, layout, tags, bus } = this.options;
    if (soft && !("all" in target))
      return this.soften("key" in target ? [target.key] : await tags.keysTagged(target.tag));
    if ("all" in target) {
      const held = local.size;
      this.forgetAll();
      if (!shared) return held;
      const [entries] = await Promise.all(layout.everyItem.map((pattern) => shared.deleteMatching(pattern)));
      // The other instances forget their copies too; each deleted key was not announced on its own.
      await bus?.announceAll();
      return entries ?? 0;
    }
    const keys = "key" in target ? [target.key] : await tags.keysTagged(target.tag);
    let deleted = 0;
    for (const key of keys) {
      if (!shared && local.slot(key)) deleted += 1;
      this.forget(key);
    }
    if (!shared) return deleted;
    for (let start = 0; start < keys.length; start += PURGE_BATCH) {
      const batch = keys.slice(start, start + PURGE_BATCH);
      const counts = await Promise.all(batch.map((key) => shared.delete(layout.item(key))));
      deleted += counts.reduce((sum, count) => sum + count, 0);
    }
    return deleted;
  }

  /** A change elsewhere, heard on the bus, applied to this process's copies and loads. */
  heard(change: BusChange): void {
    switch (change.kind) {
      case "all":
        return this.forgetAll();
      case "gone":
        return this.forget(change.key);
      case "soft":
        this.options.backoff.clear(change.key);
        return this.options.tiers.changed(change.key);
      case "fill":
      case "renew":
        return this.options.tiers.changed(change.key, change.version);
      case "fail":
        // Lookups waiting on that load woke; the copy here, if any, stands.
        return;
    }
  }

  /** Forgets this process's copy of `key`, its backoff and its load under way (which then stores nothing). */
  private forget(key: string): void {
    this.options.tiers.forget(key);
    this.options.backoff.clear(key);
    this.options.loads.purge(key);
  }

  private forgetAll(): void {
    this.options.tiers.forgetAll();
    this.options.backoff.clearAll();
    this.options.loads.purgeAll();
  }

  /**
   * Makes each fresh value of `keys` stale now, here and in the shared store, keeping it until it would have
   * stopped being served anyway; a failure record goes too, so its refresh may start at once. Resolves with the values made stale in the
   * store (here, without one).
   */
  private async soften(keys: readonly string[]): Promise<number> {
    const { local, shared, layout, backoff, now: clock } = this.options;
    const now = clock();
    let softened = 0;
    for (const key of keys) {
      const slot = local.slot(key);
      backoff.clear(key);
      if (!slot || slot.entry.freshUntil <= now) continue;
      if (!shared) softened += 1;
      local.set(key, { ...slot.entry, freshUntil: now }, now);
    }
    if (!shared) return softened;
    for (let start = 0; start < keys.length; start += PURGE_BATCH) {
      const batch = keys.slice(start, start + PURGE_BATCH);
      const counts = await Promise.all(batch.map((key) => shared.soften(layout.item(key))));
      softened += counts.reduce((sum, count) => sum + count, 0);
    }
    return softened;
  }
}
