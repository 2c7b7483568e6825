import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type * as Fragments from "./fragments";
import type { FragmentLookup } from "./fragments";
import type * as Sources from "./source";
import type { Source } from "./source";

// Outside a request Next's after() throws; in the app it keeps a background load alive, which plain Node does anyway.
vi.mock("next/server", () => ({ after: (task: () => unknown) => void task() }));

// Imported once the environment below is set: the configuration is read on first use.
let fragments: typeof Fragments;
let defineSource: typeof Sources.defineSource;

beforeAll(async () => {
  Object.assign(process.env, { FRAGMENTS: "first,second", SLOW_API_MAX_MS: "0", SHELL_HOLD_MS: "200", FRAGMENT_TIMEOUT_MS: "2000" });
  fragments = await import("./fragments");
  ({ defineSource } = await import("./source"));
});

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

let made = 0;

/** A source of its own (so no other test has cached it) whose loader answers as `load` says. */
function sourceLoading(load: (signal: AbortSignal) => Promise<unknown>, options: { deadlineMs?: number } = {}): Source {
  made += 1;
  return defineSource({ name: `s${made}`, title: `Source ${made}`, load, render: () => null, ...options });
}

const later = (ms: number, value: unknown) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe("the page's sources", () => {
  it("are FRAGMENTS' text fragments, in order, when it is set", () => {
    expect(fragments.getSources().map(({ name, title }) => [name, title])).toEqual([
      ["first", "Fragment first"],
      ["second", "Fragment second"],
    ]);
    expect(fragments.sourceNamed("second")?.name).toBe("second");
    expect(fragments.sourceNamed("weather")).toBeUndefined();
    expect(fragments.isKnownTag("news")).toBe(false);
  });

  it("look a text fragment up through the cache: fetched, then fresh from cache", async () => {
    const source = fragments.sourceNamed("first")!;
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "ready", name: "first", data: "result for first", origin: "miss" });
    expect(await fragments.lookUp(source).final).toMatchObject({ data: "result for first", origin: "hit" });
  });
});

describe("lookUp", () => {
  it("answers data as its source's schema shaped it", async () => {
    const source = sourceLoading(async () => ({ list: [1, "2"], flag: true }));
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "ready", data: { list: [1, "2"], flag: true } });
  });

  it("answers 'pending' at the source's own deadline, while the load goes on and fills the cache", async () => {
    const source = sourceLoading(() => later(300, "late"), { deadlineMs: 50 });
    const started = performance.now();
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "pending" });
    expect(performance.now() - started).toBeLessThan(250);
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

  it("logs anything else as a fragment error", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const source = sourceLoading(() => Promise.reject(new RangeError("a bug")));
    expect(await fragments.lookUp(source).result).toMatchObject({ status: "error" });
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]![0])).toContain('"event":"fragment_error"');
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
