import "server-only";
import { LRUCache } from "lru-cache";
import type { NoncedPage } from "./nonce";

/** A rendered page kept with the versions of the parts it was rendered from. */
export type KeptPage = {
  /** Each part's entry version, in the page's order. */
  versions: readonly string[];
  page: NoncedPage;
  /** The rendering's own headers (type, caching, vary), the policy's and the body's length aside. */
  headers: ReadonlyArray<readonly [string, string]>;
};

export type PageCacheOptions = {
  /** Most bytes of HTML kept; the least recently served go first. */
  maxBytes: number;
  /** Most keys remembered as asked once, not yet kept (see `shouldCapture`). @default 1000 */
  maxSeen?: number;
};

const PAGE_OVERHEAD_BYTES = 512;

/** The process's page cache lives here (`processGlobal`), so the metrics find the one the proxy fills. */
export const PAGE_CACHE_SLOT = "workerless.pageCache";

/**
 * Rendered pages by route, parameters and kind of reader (the caller's key), bounded in bytes. A page is
 * served only for the exact versions it was rendered from, so a purge, a refresh or a new value is a miss.
 */
export class PageCache {
  /** Views answered from a kept page, and pages rendered and kept, since the process started. */
  readonly stats = { served: 0, kept: 0 };
  private readonly pages: LRUCache<string, KeptPage>;
  /** Keys missed once: a page is rendered to keep only when asked again, so one-off URLs cost one rendering. */
  private readonly seen: LRUCache<string, true>;
  private readonly capturing = new Set<string>();

  constructor({ maxBytes, maxSeen = 1000 }: PageCacheOptions) {
    this.pages = new LRUCache({
      maxSize: maxBytes,
      sizeCalculation: ({ page }, key) =>
        page.reduce((bytes, piece) => bytes + piece.length, key.length * 2 + PAGE_OVERHEAD_BYTES),
    });
    this.seen = new LRUCache({ max: maxSeen });
  }

  /** The page kept for `key` if it was rendered from exactly `versions`. */
  find(key: string, versions: readonly string[]): KeptPage | undefined {
    const kept = this.pages.get(key);
    if (!kept) return undefined;
    const current = kept.versions.length === versions.length && kept.versions.every((v, i) => v === versions[i]);
    if (!current) return undefined;
    this.stats.served += 1;
    return kept;
  }

  /**
   * Whether to render `key` to keep it now: on its second miss, when no rendering of it is under way. The
   * caller calls `captured(key)` once that rendering is over, kept or not.
   */
  shouldCapture(key: string): boolean {
    if (this.capturing.has(key)) return false;
    if (!this.seen.has(key)) {
      this.seen.set(key, true);
      return false;
    }
    this.capturing.add(key);
    return true;
  }

  captured(key: string): void {
    this.capturing.delete(key);
  }

  keep(key: string, kept: KeptPage): void {
    this.pages.set(key, kept);
    this.stats.kept += 1;
  }

  get size(): number {
    return this.pages.size;
  }

  /** What the kept pages weigh, as counted against `maxBytes`. */
  get bytes(): number {
    return this.pages.calculatedSize;
  }
}
