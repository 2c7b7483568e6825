import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type * as Fragments from "./fragments";
import type { Fragment, FragmentLookup } from "./fragments";
import type * as Sources from "./source";
import type * as TextSources from "./text-sources";

// Outside a request Next's after() throws; in the app it keeps a background load alive, which plain Node does anyway.
vi.mock("next/server", () => ({ after: (task: () => unknown) => void task() }));

// Imported once the environment below is set: the configuration is read on first use.
let fragments: typeof Fragments;
let defineSource: typeof Sources.defineSource;
let textSources: typeof TextSources.textSources;

beforeAll(async () => {
  Object.assign(process.env, {
    SLOW_API_MAX_MS: "0",
    SHELL_HOLD_MS: "200",
    FRAGMENT_DEADLINE_MS: "2000",
    CACHE_FRESH_SECONDS: "30",
  });
  fragments = await import("./fragments");
  ({ defineSource } = await import("./source"));
  ({ textSources } = await import("./text-sources"));
});

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

let made = 0;

/** A fragment of its own (so no other test has cached it) whose loader answers as `load` says. */
function sourceLoading(
  load: (signal: AbortSignal) => Promise<unknown>,
  options: { deadlineMs?: number } = {},
): Fragment {
  made += 1;
  return fragments.fragmentsOf([
    defineSource({ name: `s${made}`, title: `Source ${made}`, load, render: () => null, ...options }),
  ])[0]!;
}

const later = (ms: number, value: unknown) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe("fragmentsOf", () => {
  it("decides each fragment's policy and deadline once: its source's settings over the configuration's", () => {
    const render = () => null;
    const load = async () => "x";
    const [plain, own] = fragments.fragmentsOf([
      defineSource({ name: "plain", title: "Plain", load, render, tags: ["news"] }),
      defineSource({
        name: "own",
        title: "Own",
        load,
        render,
        freshSeconds: 5,
        graceSeconds: 0,
        deadlineMs: 900,
        upstreamTimeoutMs: 700,
        version: 2,
      }),
    ]);
    expect(plain).toMatchObject({
      key: "plain",
      deadlineMs: 2000,
      policy: { freshMs: 30_000, graceMs: 300_000, upstreamTimeoutMs: 10_000, tags: ["news"] },
    });
    expect(own).toMatchObject({
      key: "own@2",
      deadlineMs: 900,
      policy: { freshMs: 5000, graceMs: 0, upstreamTimeoutMs: 700, tags: [] },
    });
  });

  it("refuses a list with a name twice", () => {
    const source = defineSource({ name: "twice", title: "Twice", load: async () => "x", render: () => null });
    expect(() => fragments.fragmentsOf([source, source])).toThrow('Source "twice" is defined twice');
  });

  it("looks a text fragment up through the cache: fetched, then fresh from cache", async () => {
    const [first] = fragments.fragmentsOf(textSources(["first"]));
    expect(await fragments.lookUp(first!).result).toMatchObject({
      status: "ready",
      name: "first",
      data: "result for first",
      origin: "miss",
    });
    expect(await fragments.lookUp(first!).final).toMatchObject({ data: "result for first", origin: "hit" });
  });
});

describe("lookUp", () => {
  it("answers data as its source's schema shaped it", async () => {
    const source = sourceLoading(async () => ({ list: [1, "2"], flag: true }));
    expect(await fragments.lookUp(source).result).toMatchObject({
      status: "ready",
      data: { list: [1, "2"], flag: true },
    });
  });

  it("answers 'pending' at the source's own deadline, while the load goes on and fills the cache", async () => {
    let loaded = false;
    const source = sourceLoading(() => later(300, "late").finally(() => (loaded = true)), { deadlineMs: 50 });
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "pending" });
    expect(loaded, "answered before the load ended").toBe(false);
    await later(350, undefined);
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "ready", data: "late", origin: "hit" });
  });

  it("answers an upstream failure as an error result, logged once where it happened", async () => {
    const { UpstreamError } = await import("./upstream");
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const source = sourceLoading(() => Promise.reject(new UpstreamError("down")));
    expect(await fragments.lookUp(source).final).toMatchObject({ status: "error", name: source.name });
    expect(error).not.toHaveBeenCalled();
  });

  it("logs a loader's own bug once too, where the load failed, naming the bug", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const source = sourceLoading(() => Promise.reject(new RangeError("a bug")));
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "error" });
    expect(error).not.toHaveBeenCalled();
    const warnings = vi
      .mocked(console.warn)
      .mock.calls.map(([line]) => String(line))
      .filter((line) => line.includes(`"key":"${source.key}"`));
    expect(warnings).toEqual([expect.stringContaining('"error":"RangeError: a bug"')]);
  });
});

describe("shellResults", () => {
  it("gives the results a cache answers, and stops waiting as soon as the others load", async () => {
    const cached = sourceLoading(async () => "cached");
    await fragments.lookUp(cached).result;
    const slow = sourceLoading(() => later(1000, "slow"));
    const lookups: FragmentLookup[] = [fragments.lookUp(cached), fragments.lookUp(slow)];
    const started = performance.now();
    const shell = await fragments.shellResults(lookups);
    expect(performance.now() - started, "well within SHELL_HOLD_MS").toBeLessThan(150);
    expect(shell).toEqual([expect.objectContaining({ data: "cached", origin: "hit" }), undefined]);
  });
});
