import { LRUCache } from "lru-cache";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";

/** How long this process trusts that a key is in its tags' indexes in the store before adding it again. */
const INDEX_TRUST_MS = 60_000;
/** Slack for instances' clocks, which date the members of a tag's index. */
const CLOCK_SLACK_MS = 300_000;

/**
 * Which keys carry which tags, so a purge by tag finds them: the keys this process has seen, and, through a
 * set per tag in the shared store, the keys any instance loaded (loads still under way included).
 */
export class TagIndex {
  /**
   * Each key's tags, as its lookups gave them. As many keys as the in-process tier holds: both are kept in the
   * order of their last lookup, so a key this process still holds a value of is known here, and a flood of
   * distinct keys costs no more memory here than there.
   */
  private readonly tagsOf: LRUCache<string, readonly string[]>;
  /** Keys this process recently added to their tags' indexes in the store. */
  private readonly indexed: LRUCache<string, true>;

  constructor(
    private readonly shared: GuardedStore | undefined,
    private readonly layout: KeyLayout,
    private readonly now: () => number,
    maxKeys: number,
  ) {
    this.tagsOf = new LRUCache({ max: maxKeys });
    this.indexed = new LRUCache({ max: maxKeys, ttl: INDEX_TRUST_MS });
  }

  /**
   * Remembers `key`'s tags, beside those it had (a loader may have added some from its value). They rarely
   * change, so the hot path only reads.
   */
  note(key: string, tags: readonly string[]): void {
    // `get`, not `peek`: a key still looked up stays known however many others pass through.
    const known = this.tagsOf.get(key);
    if (known === tags || tags.every((tag) => known?.includes(tag))) return;
    this.tagsOf.set(key, [...new Set([...(known ?? []), ...tags])]);
  }

  /**
   * Adds `key` to its tags' indexes in the store, unless this process did so recently, for as long as an
   * entry stored now may live (`lifetimeMs`), and the time until this process adds it again. So the indexes
   * stay as small as the keys that may still have entries, however many keys a flood of parameters made.
   */
  async index(key: string, tags: readonly string[], lifetimeMs: number): Promise<void> {
    const { shared, layout } = this;
    if (!shared || tags.length === 0 || this.indexed.has(key)) return;
    const sets = tags.map((tag) => layout.tagIndex(tag));
    if (await shared.index(sets, key, this.termFor(lifetimeMs))) this.indexed.set(key, true);
  }

  /**
   * Adds `key` to the indexes of `tags` now, trusted or not (tags a loader added from its value, or a lifetime
   * longer than the policy's), and remembers them beside its declared ones.
   */
  async add(key: string, tags: readonly string[], lifetimeMs: number): Promise<void> {
    this.note(key, tags);
    if (!this.shared) return;
    const sets = tags.map((tag) => this.layout.tagIndex(tag));
    await this.shared.index(sets, key, this.termFor(lifetimeMs));
  }

  /** A key's term in an index: as long as an entry stored now may live, and until this process adds it again. */
  private termFor(lifetimeMs: number) {
    const now = this.now();
    return {
      untilMs: now + lifetimeMs + INDEX_TRUST_MS,
      dropBeforeMs: now - CLOCK_SLACK_MS,
      keepMs: lifetimeMs + INDEX_TRUST_MS + CLOCK_SLACK_MS,
    };
  }

  /** The keys carrying `tag`: those this process has seen, and those in the tag's index in the store. */
  async keysTagged(tag: string): Promise<string[]> {
    const known = [...this.tagsOf.entries()].filter(([, tags]) => tags.includes(tag)).map(([key]) => key);
    const indexed = this.shared ? await this.shared.members(this.layout.tagIndex(tag)) : [];
    return [...new Set([...known, ...indexed])];
  }
}
