import "server-only";
import { LRUCache } from "lru-cache";
import type { CacheEntry } from "./store";

export type MemoryStoreOptions = {
  /** Most entries held; the least recently used go first. @default 10_000 */
  maxEntries: number;
  /** Most bytes of values held, reckoned as twice their JSON text (a parsed value is larger), same eviction. @default 64 MiB */
  maxBytes: number;
};

const ENTRY_OVERHEAD_BYTES = 96;

/** An entry and when this process last stored or confirmed it (epoch ms). */
export type Slot = { entry: CacheEntry; storedAt: number };

/** The in-process tier: bounded by entries and bytes, entries dropped when they stop being usable. */
export class MemoryStore {
  private readonly entries: LRUCache<string, Slot>;
  readonly maxEntries: number;

  constructor({ maxEntries, maxBytes }: MemoryStoreOptions) {
    this.maxEntries = maxEntries;
    this.entries = new LRUCache<string, Slot>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: ({ entry }, key) => (entry.bytes + key.length) * 2 + ENTRY_OVERHEAD_BYTES,
    });
  }

  /** The entry held for `key`, with when it was stored; counts as a use for eviction. */
  slot(key: string): Slot | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: CacheEntry, now: number): void {
    const ttl = entry.safeUntil - now;
    if (ttl > 0) this.entries.set(key, { entry, storedAt: now }, { ttl });
    else this.entries.delete(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.entries.calculatedSize;
  }
}
