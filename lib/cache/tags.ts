import { LRUCache } from "lru-cache";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";

/** How long this process trusts that a key is in its tags' indexes in the store before adding it again. */
const INDEX_TRUST_MS = 60_000;

/**
 * Which keys carry which tags, so a purge by tag finds them: the keys this process has seen, and, through a
 * set per tag in the shared store, the keys any instance loaded (loads still under way included).
 */
export class TagIndex {
  /** Each key's tags, as its last lookup gave them. */
  private readonly tagsOf = new LRUCache<string, readonly string[]>({ max: 100_000 });
  /** Keys this process recently added to their tags' indexes in the store. */
  private readonly indexed = new LRUCache<string, true>({ max: 100_000, ttl: INDEX_TRUST_MS });

  constructor(
    private readonly shared: GuardedStore | undefined,
    private readonly layout: KeyLayout,
  ) {}

  /** Remembers `key`'s tags. A source hands the same array every time: the hot path writes only when it changes. */
  note(key: string, tags: readonly string[]): void {
    if (this.tagsOf.peek(key) === tags) return;
    if (tags.length > 0) this.tagsOf.set(key, tags);
    else this.tagsOf.delete(key);
  }

  /** Adds `key` to its tags' indexes in the store, unless this process did so recently. */
  async index(key: string, tags: readonly string[]): Promise<void> {
    const { shared, layout } = this;
    if (!shared || tags.length === 0 || this.indexed.has(key)) return;
    if (
      await shared.index(
        tags.map((tag) => layout.tagIndex(tag)),
        key,
      )
    )
      this.indexed.set(key, true);
  }

  /** The keys carrying `tag`: those this process has seen, and those in the tag's index in the store. */
  async keysTagged(tag: string): Promise<string[]> {
    const known = [...this.tagsOf.entries()].filter(([, tags]) => tags.includes(tag)).map(([key]) => key);
    const indexed = this.shared ? await this.shared.members(this.layout.tagIndex(tag)) : [];
    return [...new Set([...known, ...indexed])];
  }
}
