import type { GateKeys, ItemKeys } from "./store";

/** Versioned so a change of entry format or key layout never reads old entries. */
export const NAMESPACE = "workerless:v4";

/**
 * Where the cache keeps things in Redis. A key's entry, lease and failure record share the `{key}` hash tag,
 * so they live on one Redis Cluster slot and one script may use them all; a tag's index is a set of keys.
 */
export type KeyLayout = {
  /** The entry, the lease of a load under way and the failure record of `key`. */
  item(key: string): ItemKeys;
  /** The set of keys carrying `tag`. */
  tagIndex(tag: string): string;
  /** The gate of a group of keys (a source): its hold and `slots` rate slots. */
  gate(group: string, slots: number): GateKeys;
  /** Patterns matching every entry, lease and failure record: what a purge of everything deletes. */
  everyItem: readonly string[];
};

export function keyLayout(namespace: string = NAMESPACE): KeyLayout {
  return {
    item: (key) => ({
      entry: `${namespace}:find:{${key}}`,
      lease: `${namespace}:lease:{${key}}`,
      failure: `${namespace}:fail:{${key}}`,
    }),
    tagIndex: (tag) => `${namespace}:tag:{${tag}}`,
    gate: (group, slots) => ({
      hold: `${namespace}:hold:{${group}}`,
      slots: Array.from({ length: slots }, (_, index) => `${namespace}:rate:{${group}}:${index + 1}`),
    }),
    everyItem: ["find", "lease", "fail"].map((kind) => `${namespace}:${kind}:*`),
  };
}
