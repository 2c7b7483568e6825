import { afterEach, beforeEach, describe, it, expect, vi } from "vitest";
import { LRUCache } from "lru-cache";
import { MemoryStore } from "./memory";
import type { CacheEntry } from "./store";

/**
 * lru-cache measures TTLs with the `performance` object it captured when it was loaded, while
 * `vi.useFakeTimers()` swaps `globalThis.performance` for a new fake object, so lru-cache keeps
 * reading real time. The TTL tests therefore fake timers (for lru-cache's 1 ms `now` debounce) and
 * drive `now()` on the very object lru-cache uses, exposed as `LRUCache#perf`.
 */
function controlLruClock(): { advance(ms: number): void } {
  const lruPerf = new LRUCache<string, string>({ max: 1 }).perf;
  let time = 5_000;
  vi.useFakeTimers();
  vi.spyOn(lruPerf, "now").mockImplementation(() => time);
  return {
    advance(ms: number) {
      time += ms;
      vi.advanceTimersByTime(ms);
    },
  };
}

const NOW = 1_700_000_000_000;

function entry(value: string, { freshMs = 1000, staleMs = 5000, now = NOW } = {}): CacheEntry {
  return {
    value,
    version: "v1",
    bytes: value.length,
    createdAt: now,
    freshUntil: now + freshMs,
    staleUntil: now + staleMs,
    safeUntil: now + staleMs,
  };
}

/** The bytes MemoryStore charges for one entry: twice the key and the value's size, plus a fixed overhead. */
function cost(key: string, value: string): number {
  return (key.length + value.length) * 2 + 96;
}

const roomy = { maxEntries: 1000, maxBytes: 1024 * 1024 };

describe("MemoryStore basics", () => {
  it("starts empty", () => {
    const store = new MemoryStore(roomy);
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.slot("missing")?.entry).toBeUndefined();
  });

  it("returns what was set, keyed exactly", () => {
    const store = new MemoryStore(roomy);
    const stored = entry("hello");
    store.set("k", stored, NOW);
    expect(store.slot("k")?.entry).toEqual(stored);
    expect(store.slot("K")?.entry).toBeUndefined();
    expect(store.slot("k ")?.entry).toBeUndefined();
    expect(store.size).toBe(1);
  });

  it("replaces the entry for a key that is set again", () => {
    const store = new MemoryStore(roomy);
    store.set("k", entry("old"), NOW);
    const newer = entry("new", { now: NOW + 10 });
    store.set("k", newer, NOW + 10);
    expect(store.slot("k")?.entry).toEqual(newer);
    expect(store.size).toBe(1);
    expect(store.bytes).toBe(cost("k", "new"));
  });

  it("holds an empty value", () => {
    const store = new MemoryStore(roomy);
    store.set("empty", entry(""), NOW);
    expect(store.slot("empty")?.entry.value).toBe("");
  });

  it("deletes a key, and deleting a missing key is harmless", () => {
    const store = new MemoryStore(roomy);
    store.set("a", entry("1"), NOW);
    store.set("b", entry("2"), NOW);
    store.delete("a");
    store.delete("never-set");
    expect(store.slot("a")?.entry).toBeUndefined();
    expect(store.slot("b")?.entry.value).toBe("2");
    expect(store.size).toBe(1);
    expect(store.bytes).toBe(cost("b", "2"));
  });

  it("counts entries in size", () => {
    const store = new MemoryStore(roomy);
    for (let i = 0; i < 25; i++) store.set(`key-${i}`, entry(`value-${i}`), NOW);
    expect(store.size).toBe(25);
  });
});

describe("MemoryStore expiry", () => {
  beforeEach(() => {
    vi.restoreAllMocks();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("does not store an entry whose staleUntil is already past", () => {
    const store = new MemoryStore(roomy);
    store.set("expired", entry("v", { staleMs: -1 }), NOW);
    expect(store.slot("expired")?.entry).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it("does not store an entry whose staleUntil is exactly now", () => {
    const store = new MemoryStore(roomy);
    store.set("edge", entry("v", { staleMs: 0 }), NOW);
    expect(store.slot("edge")?.entry).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("keeps an entry until staleUntil and drops it after (TTL = staleUntil - now)", () => {
    const clock = controlLruClock();
    const store = new MemoryStore(roomy);
    store.set("k", entry("v", { freshMs: 1000, staleMs: 5000 }), NOW);
    clock.advance(1000); // past freshUntil: still usable as stale
    expect(store.slot("k")?.entry.value).toBe("v");
    clock.advance(3999); // 1 ms before staleUntil
    expect(store.slot("k")?.entry.value).toBe("v");
    clock.advance(2); // 1 ms after staleUntil
    expect(store.slot("k")?.entry).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it("measures the TTL from the now passed to set, not from createdAt", () => {
    const clock = controlLruClock();
    const store = new MemoryStore(roomy);
    // Read from the shared store 4 s after it was created: only 1 s of usefulness is left.
    const late = entry("v", { staleMs: 5000, now: NOW });
    store.set("k", late, NOW + 4000);
    clock.advance(999);
    expect(store.slot("k")?.entry).toBeDefined();
    clock.advance(2);
    expect(store.slot("k")?.entry).toBeUndefined();
  });

  it("expires each entry on its own schedule", () => {
    const clock = controlLruClock();
    const store = new MemoryStore(roomy);
    store.set("short", entry("s", { staleMs: 100 }), NOW);
    store.set("long", entry("l", { staleMs: 10_000 }), NOW);
    clock.advance(101);
    expect(store.slot("short")?.entry).toBeUndefined();
    expect(store.slot("long")?.entry.value).toBe("l");
    clock.advance(10_000);
    expect(store.slot("long")?.entry).toBeUndefined();
  });

  it("restarts the TTL when a key is set again with a later staleUntil", () => {
    const clock = controlLruClock();
    const store = new MemoryStore(roomy);
    store.set("k", entry("first", { staleMs: 100 }), NOW);
    clock.advance(90);
    store.set("k", entry("second", { staleMs: 100, now: NOW + 90 }), NOW + 90);
    clock.advance(90); // 180 ms after the first set, 90 ms after the second
    expect(store.slot("k")?.entry.value).toBe("second");
    clock.advance(11);
    expect(store.slot("k")?.entry).toBeUndefined();
  });

  it("does not extend an entry's life by reading it", () => {
    const clock = controlLruClock();
    const store = new MemoryStore(roomy);
    store.set("k", entry("v", { staleMs: 100 }), NOW);
    for (let i = 0; i < 9; i++) {
      clock.advance(10);
      expect(store.slot("k")?.entry).toBeDefined();
    }
    clock.advance(11); // 101 ms after set
    expect(store.slot("k")?.entry).toBeUndefined();
  });
});

describe("MemoryStore entry bound (least recently used first)", () => {
  it("never holds more than maxEntries", () => {
    const store = new MemoryStore({ maxEntries: 3, maxBytes: 1024 * 1024 });
    for (let i = 0; i < 10; i++) {
      store.set(`k${i}`, entry(`v${i}`), NOW);
      expect(store.size).toBeLessThanOrEqual(3);
    }
    expect(store.size).toBe(3);
    expect(["k7", "k8", "k9"].map((key) => store.slot(key)?.entry.value)).toEqual(["v7", "v8", "v9"]);
    expect(store.slot("k6")?.entry).toBeUndefined();
  });

  it("evicts the least recently set entry when nothing was read", () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1024 * 1024 });
    store.set("a", entry("1"), NOW);
    store.set("b", entry("2"), NOW);
    store.set("c", entry("3"), NOW);
    expect(store.slot("a")?.entry).toBeUndefined();
    expect(store.slot("b")?.entry.value).toBe("2");
    expect(store.slot("c")?.entry.value).toBe("3");
  });

  it("counts a read as a use, so the unread entry goes first", () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1024 * 1024 });
    store.set("a", entry("1"), NOW);
    store.set("b", entry("2"), NOW);
    expect(store.slot("a")?.entry.value).toBe("1");
    store.set("c", entry("3"), NOW);
    expect(store.slot("b")?.entry).toBeUndefined();
    expect(store.slot("a")?.entry.value).toBe("1");
    expect(store.slot("c")?.entry.value).toBe("3");
  });

  it("counts a re-set as a use", () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1024 * 1024 });
    store.set("a", entry("1"), NOW);
    store.set("b", entry("2"), NOW);
    store.set("a", entry("1b"), NOW);
    store.set("c", entry("3"), NOW);
    expect(store.slot("b")?.entry).toBeUndefined();
    expect(store.slot("a")?.entry.value).toBe("1b");
  });

  it("holds a single entry with maxEntries 1", () => {
    const store = new MemoryStore({ maxEntries: 1, maxBytes: 1024 * 1024 });
    store.set("a", entry("1"), NOW);
    store.set("b", entry("2"), NOW);
    expect(store.size).toBe(1);
    expect(store.slot("a")?.entry).toBeUndefined();
    expect(store.slot("b")?.entry.value).toBe("2");
  });
});

describe("MemoryStore byte bound", () => {
  const maxBytes = 1024;
  const hundred = "x".repeat(100); // cost("kN", hundred) = 300 bytes

  it("charges (key + value) UTF-16 code units × 2 plus a fixed overhead per entry", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes: 1024 * 1024 });
    store.set("key", entry("value"), NOW);
    expect(store.bytes).toBe(cost("key", "value"));
    store.set("k2", entry("日本語😀"), NOW);
    expect(store.bytes).toBe(cost("key", "value") + cost("k2", "日本語😀"));
  });

  it("releases an entry's bytes when it is replaced or deleted", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("k1", entry(hundred), NOW);
    store.set("k1", entry("short"), NOW);
    expect(store.bytes).toBe(cost("k1", "short"));
    store.delete("k1");
    expect(store.bytes).toBe(0);
  });

  it("never holds more than maxBytes, evicting the least recently used", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    for (let i = 0; i < 20; i++) {
      store.set(`k${i}`, entry(hundred), NOW);
      expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    }
    // Keys k10..k19 cost 302 bytes each: 3 fit (906), a 4th would not (1208).
    expect(store.size).toBe(3);
    expect(store.bytes).toBe(3 * cost("k19", hundred));
    expect(store.slot("k16")?.entry).toBeUndefined();
    expect(store.slot("k19")?.entry).toBeDefined();
  });

  it("lets one large entry evict several older ones, oldest first", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("k1", entry(hundred), NOW);
    store.set("k2", entry(hundred), NOW);
    store.set("k3", entry(hundred), NOW);
    const large = "y".repeat(300); // cost("big", large) = 702 bytes
    store.set("big", entry(large), NOW);
    expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    expect(store.slot("k1")?.entry).toBeUndefined();
    expect(store.slot("k2")?.entry).toBeUndefined();
    expect(store.slot("k3")?.entry.value).toBe(hundred);
    expect(store.slot("big")?.entry.value).toBe(large);
    expect(store.bytes).toBe(300 + 702);
  });

  it("evicts by recency of use, not of insertion, for the byte bound too", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("k1", entry(hundred), NOW);
    store.set("k2", entry(hundred), NOW);
    store.set("k3", entry(hundred), NOW);
    expect(store.slot("k1")).toBeDefined();
    store.set("k4", entry(hundred), NOW);
    expect(store.slot("k2")?.entry).toBeUndefined();
    expect(store.slot("k1")?.entry).toBeDefined();
    expect(store.bytes).toBe(900);
  });

  it("stores an entry that exactly fills the bound", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    const value = "z".repeat((maxBytes - 96) / 2 - 1); // with key "k": exactly 1024 bytes
    expect(cost("k", value)).toBe(maxBytes);
    store.set("k", entry(value), NOW);
    expect(store.slot("k")?.entry.value).toBe(value);
    expect(store.bytes).toBe(maxBytes);
  });

  it("does not store an entry larger than the whole bound, and keeps the others", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("k1", entry(hundred), NOW);
    store.set("k2", entry(hundred), NOW);
    const tooBig = "z".repeat((maxBytes - 96) / 2); // with key "huge": 1032 bytes
    expect(cost("huge", tooBig)).toBeGreaterThan(maxBytes);
    store.set("huge", entry(tooBig), NOW);
    expect(store.slot("huge")?.entry).toBeUndefined();
    expect(store.slot("k1")?.entry.value).toBe(hundred);
    expect(store.slot("k2")?.entry.value).toBe(hundred);
    expect(store.size).toBe(2);
    expect(store.bytes).toBe(600);
  });

  it("does not store a 10× oversized entry", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("huge", entry("q".repeat(maxBytes * 10)), NOW);
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it("counts a long key against the bound", () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes });
    store.set("k".repeat(600), entry("v"), NOW);
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
  });

  it("keeps both bounds at once", () => {
    const store = new MemoryStore({ maxEntries: 5, maxBytes });
    for (let i = 0; i < 50; i++) {
      const value = "v".repeat((i * 37) % 300);
      store.set(`key-${i}`, entry(value), NOW);
      expect(store.size).toBeLessThanOrEqual(5);
      expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(store.slot("key-49")?.entry).toBeDefined();
  });
});
