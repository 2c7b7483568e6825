import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startRedisTarget, type RedisTarget } from "../../harness/redis-targets";
import { RedisStore, StoreUnavailableError } from "./redis";
import type { ItemKeys } from "./store";

const KEYS: ItemKeys = { entry: "t:find:{k}", lease: "t:lease:{k}", failure: "t:fail:{k}", bus: "t:bus" };

describe("RedisStore on one server", () => {
  let target: RedisTarget;
  const stores: RedisStore[] = [];
  const connect = (timeoutMs = 300) => {
    const store = new RedisStore({ target: { kind: "redis", url: target.appEnv.REDIS_URL! }, timeoutMs });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    target = await startRedisTarget("redis");
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await target?.stop();
  });

  beforeEach(async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await target.restore();
    await target.flush();
  });

  it("waits for its first connection within the budget instead of failing the first lookup", async () => {
    const claim = await connect().claim(KEYS, "token", 5000);
    expect(claim).toEqual({ leased: true, entry: undefined, failure: undefined });
  });

  it("sends its scripts as EVALSHA, and loads them again when the server has forgotten them", async () => {
    const store = connect();
    await store.claim(KEYS, "token", 5000);
    await store.fill(KEYS, "token", "v", { freshMs: 60_000, graceMs: 1000, failSafeMs: 0 });
    await store.read(KEYS);
    await target.client.config("RESETSTAT");
    expect(await store.read(KEYS)).toMatchObject({ value: "v" });
    expect(await target.client.info("commandstats")).toMatch(/cmdstat_evalsha:calls=1,/);
    expect(await target.client.info("commandstats")).not.toMatch(/cmdstat_eval:/);

    await target.client.script("FLUSH");
    await target.client.config("RESETSTAT");
    expect(await store.read(KEYS)).toMatchObject({ value: "v" });
    const stats = await target.client.info("commandstats");
    expect(stats).toMatch(/cmdstat_evalsha:calls=1,.*failed_calls=1/);
    expect(stats).toMatch(/cmdstat_eval:calls=1,/);
  });

  it("fails at once while the connection is down, and sends nothing late once it is back", async () => {
    const store = connect();
    await store.ping();
    await target.outage();
    await vi.waitFor(() => expect(store.claim(KEYS, "late", 5000)).rejects.toBeInstanceOf(StoreUnavailableError));
    const started = performance.now();
    await expect(store.claim(KEYS, "late", 5000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(50);
    await target.restore();
    await vi.waitFor(() => expect(store.ping()).resolves.toBeUndefined(), { timeout: 5000, interval: 100 });
    expect(await target.keys("t:*")).toEqual([]);
  });

  it("keeps a lease for the token that holds it, and refuses it to any other", async () => {
    const store = connect();
    expect((await store.claim(KEYS, "first", 5000)).leased).toBe(true);
    expect((await store.claim(KEYS, "first", 5000)).leased).toBe(true);
    expect((await store.claim(KEYS, "second", 5000)).leased).toBe(false);
  });

  it("indexes a key in each tag's sorted set until its term, never moving a term earlier", async () => {
    const store = connect();
    const [news, world] = ["t:tag:{news}", "t:tag:{world}"];
    await store.index([news, world], "a", { untilMs: 5000, dropBeforeMs: 0, keepMs: 60_000 });
    // An instance whose clock is behind adds it again: the later term stands.
    await store.index([news], "a", { untilMs: 4000, dropBeforeMs: 0, keepMs: 60_000 });
    expect(await target.client.zscore(news, "a")).toBe("5000");
    expect(await target.client.zscore(world, "a")).toBe("5000");
    await store.index([news], "a", { untilMs: 7000, dropBeforeMs: 0, keepMs: 60_000 });
    expect(await target.client.zscore(news, "a")).toBe("7000");
    expect(await store.members(news)).toEqual(["a"]);
  });

  it("drops the members past their term as it adds one, and lengthens the set's life, never shortens it", async () => {
    const store = connect();
    const set = "t:tag:{news}";
    await store.index([set], "old", { untilMs: 1000, dropBeforeMs: 0, keepMs: 60_000 });
    await store.index([set], "kept", { untilMs: 3000, dropBeforeMs: 0, keepMs: 60_000 });
    await store.index([set], "new", { untilMs: 9000, dropBeforeMs: 2000, keepMs: 1000 });
    expect(await store.members(set)).toEqual(["kept", "new"]);
    expect(await target.client.pttl(set)).toBeGreaterThan(55_000);
    await store.index([set], "later", { untilMs: 9000, dropBeforeMs: 0, keepMs: 120_000 });
    expect(await target.client.pttl(set)).toBeGreaterThan(115_000);
  });

  it("lets a tag's set expire with the last of its members", async () => {
    const store = connect();
    const set = "t:tag:{brief}";
    await store.index([set], "a", { untilMs: 1000, dropBeforeMs: 0, keepMs: 50 });
    expect(await store.members(set)).toEqual(["a"]);
    await vi.waitFor(async () => expect(await target.client.exists(set)).toBe(0), { timeout: 2000, interval: 25 });
    expect(await store.members(set)).toEqual([]);
  });

  it("treats a malformed entry or failure record as absent", async () => {
    const store = connect();
    await target.client.set(KEYS.entry, "not json", "PX", 60_000);
    await target.client.set(KEYS.failure, '{"error":1}', "PX", 60_000);
    expect(await store.read(KEYS)).toBeNull();
    expect(await store.claim(KEYS, "token", 5000)).toEqual({ leased: true, entry: undefined, failure: undefined });
    await target.client.set(KEYS.entry, '{"value":"v","freshMs":"soon"}', "PX", 60_000);
    expect(await store.read(KEYS)).toBeNull();
  });
});
