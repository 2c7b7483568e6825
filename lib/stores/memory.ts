import "server-only";
import { LRUCache } from "lru-cache";
import type { CacheEntry } from "./store";

export type MemoryStoreOptions = {
  /** Most entries held; the least recently used go first. @default 10_000 */
  maxEntries: number;
  /** Most bytes of values held (UTF-16, as V8 stores them), same eviction. @default 64 MiB */
  maxBytes: number;
};

const ENTRY_OVERHEAD_BYTES = 96;

/** The in-process tier: bounded by entries and bytes, entries dropped when they stop being usable. */
export class MemoryStore {
  readonly kind = "memory";
  private readonly entries: LRUCache<string, CacheEntry>;

  constructor({ maxEntries, maxBytes }: MemoryStoreOptions) {
    this.entries = new LRUCache<string, CacheEntry>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => (entry.value.length + key.length) * 2 + ENTRY_OVERHEAD_BYTES,
    });
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: CacheEntry, now: number): void {
    const ttl = entry.staleUntil - now;
    if (ttl > 0) this.entries.set(key, entry, { ttl });
    else this.entries.delete(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.entries.calculatedSize;
  }
}
