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
  /** Every channel of the bus, which every instance subscribes to. */
  busChannels: readonly string[];
  /** The cache key whose entry is `entry` (as `item(key).entry` names it); undefined for any other key. */
  keyOfEntry(entry: string): string | undefined;
};

/**
 * `busChannels` 1: one channel for the whole fleet (plain pub/sub on one server). More: channels with hash
 * tags of their own, for sharded pub/sub on a Cluster, each key's events on one of them, so the bus's
 * traffic is spread over the shards instead of sent to every node.
 */
export function keyLayout(namespace: string = NAMESPACE, busChannels = 1): KeyLayout {
  const channels =
    busChannels === 1
      ? [`${namespace}:bus`]
      : Array.from({ length: busChannels }, (_, index) => `${namespace}:bus:{${index}}`);
  const entryPrefix = `${namespace}:find:{`;
  return {
    item: (key) => ({
      entry: `${entryPrefix}${key}}`,
      lease: `${namespace}:lease:{${key}}`,
      failure: `${namespace}:fail:{${key}}`,
      bus: channels.length === 1 ? channels[0]! : channels[bucketOf(key, channels.length)]!,
    }),
    tagIndex: (tag) => `${namespace}:tag:{${tag}}`,
    gate: (group, slots) => ({
      hold: `${namespace}:hold:{${group}}`,
      slots: Array.from({ length: slots }, (_, index) => `${namespace}:rate:{${group}}:${index + 1}`),
    }),
    everyItem: ["find", "lease", "fail"].map((kind) => `${namespace}:${kind}:*`),
    busChannels: channels,
    keyOfEntry: (entry) =>
      entry.startsWith(entryPrefix) && entry.endsWith("}") ? entry.slice(entryPrefix.length, -1) : undefined,
  };
}

/** A key's bus channel (FNV-1a of its UTF-16 code units): every instance agrees, and keys spread evenly. */
function bucketOf(key: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  return (hash >>> 0) % buckets;
}
