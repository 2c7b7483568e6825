import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type * as Fragments from "./fragments";
import type { FragmentLookup, Part } from "./fragments";
import { ParamsError, ParamsShapeError, paramsKey } from "./params";
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

/** A part whose parameters were accepted. */
type Asked = Extract<Part, { refused?: undefined; broken?: undefined }>;

function asked(part: Part): Asked {
  if (part.refused) throw part.refused;
  if (part.broken) throw new Error(`the part of "${part.name}" is broken`);
  return part;
}

/** A part of a fragment of its own (so no other test has cached it) whose loader answers as `load` says. */
function sourceLoading(load: (signal: AbortSignal) => Promise<unknown>, options: { deadlineMs?: number } = {}): Asked {
  made += 1;
  const [fragment] = fragments.fragmentsOf([
    defineSource({
      name: `s${made}`,
      title: `Source ${made}`,
      load: ({ signal }) => load(signal),
      render: () => null,
      ...options,
    }),
  ]);
  return asked(fragments.partOf(fragment!));
}

const cityParams = z.object({ city: z.enum(["lisbon", "porto", "paris"]).default("lisbon") });

/** A fragment of its own asked `?city=`, whose loader counts its calls and can be held until released. */
function cityFragment(options: { maxInFlight?: number; tags?: (params: { city: string }) => string[] } = {}) {
  made += 1;
  const calls: string[] = [];
  let gate: Promise<void> | undefined;
  let open = () => {};
  const [fragment] = fragments.fragmentsOf([
    defineSource({
      name: `city${made}`,
      params: cityParams,
      title: ({ city }) => `Weather in ${city}`,
      load: async ({ params }) => {
        calls.push(params.city);
        await gate;
        return `weather in ${params.city}`;
      },
      render: () => null,
      controls: () => null,
      ...options,
    }),
  ]);
  return {
    fragment: fragment!,
    part: (city?: string) => fragments.partOf(fragment!, city === undefined ? {} : { city }),
    calls,
    hold: () => void (gate = new Promise<void>((resolve) => (open = resolve))),
    release: () => open(),
  };
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
        maxInFlight: 3,
        rate: { calls: 10, perSeconds: 2 },
        notFoundSeconds: 5,
        eagerRefresh: false,
        failSafeSeconds: 0,
        httpCaching: false,
        minFreshSeconds: 2,
        maxFreshSeconds: 30,
        version: 2,
      }),
    ]);
    expect(plain).toMatchObject({ key: "plain", params: undefined, deadlineMs: 2000 });
    expect(plain!.policy).toEqual({
      freshMs: 30_000,
      graceMs: 300_000,
      upstreamTimeoutMs: 10_000,
      notFoundMs: 60_000,
      failSafeMs: 86_400_000,
      http: { obey: true, minFreshMs: 1000, maxFreshMs: 86_400_000 },
      eagerRefresh: 0.8,
      group: { name: "plain", maxInFlight: 16, rate: undefined },
    });
    expect(own).toMatchObject({ key: "own@2", deadlineMs: 900 });
    expect(own!.policy).toEqual({
      freshMs: 5000,
      graceMs: 0,
      upstreamTimeoutMs: 700,
      notFoundMs: 5000,
      failSafeMs: 0,
      http: { obey: false, minFreshMs: 2000, maxFreshMs: 30_000 },
      eagerRefresh: 0,
      group: { name: "own@2", maxInFlight: 3, rate: { calls: 10, perMs: 2000 } },
    });
    expect(asked(fragments.partOf(plain!)).policy).toEqual({ ...plain!.policy, tags: ["news"] });
    expect(asked(fragments.partOf(own!)).policy).toEqual({ ...own!.policy, tags: [] });
  });

  it("refuses a list with a name twice", () => {
    const source = defineSource({ name: "twice", title: "Twice", load: async () => "x", render: () => null });
    expect(() => fragments.fragmentsOf([source, source])).toThrow('Source "twice" is defined twice');
  });

  it("looks a text fragment up through the cache: fetched, then fresh from cache", async () => {
    const [first] = fragments.fragmentsOf(textSources(["first"]));
    expect(await fragments.lookUp(fragments.partOf(first!)).result).toMatchObject({
      status: "ready",
      name: "first",
      data: "result for first",
      origin: "miss",
    });
    expect(await fragments.lookUp(fragments.partOf(first!)).final).toMatchObject({
      data: "result for first",
      origin: "hit",
    });
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

  it("tells which entry a value was read from: its version, the same on a hit, and its lifetimes", async () => {
    const source = sourceLoading(async () => "v");
    const before = Date.now();
    const first = await fragments.lookUp(source).result;
    const second = await fragments.lookUp(source).result;
    if (first.status !== "ready" || second.status !== "ready") throw new Error("expected two values");
    expect(second).toMatchObject({ origin: "hit", kept: first.kept });
    const { version, freshUntil, staleUntil, safeUntil } = first.kept;
    expect(version).toMatch(/^[\w-]{8,}$/);
    // CACHE_FRESH_SECONDS=30, then the default grace (300 s) and fail-safe (a day).
    expect(freshUntil - before).toBeGreaterThan(29_000);
    expect(freshUntil - before).toBeLessThanOrEqual(30_000 + (Date.now() - before));
    expect(staleUntil - freshUntil).toBe(300_000);
    expect(safeUntil - freshUntil).toBe(86_400_000);
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

describe("partOf", () => {
  it("asks a fragment without parameters by its own key, tags and title", () => {
    const [fragment] = fragments.fragmentsOf([
      defineSource({ name: "fixed", title: "Fixed", load: async () => "x", render: () => null, tags: ["news"] }),
    ]);
    const part = asked(fragments.partOf(fragment!, { city: "porto" }));
    expect(part).toMatchObject({ name: "fixed", title: "Fixed", key: "fixed", params: {}, input: {}, tags: ["news"] });
    expect(part.controls).toBeUndefined();
  });

  it("keys each parameter set apart under the source's key, with its title, its input and its controls", () => {
    const { fragment } = cityFragment();
    const search = new URLSearchParams("city=porto&other=1");
    const part = asked(fragments.partOf(fragment, { city: "porto", other: "1" }, search));
    expect(part).toMatchObject({
      name: fragment.name,
      title: "Weather in porto",
      params: { city: "porto" },
      input: { city: "porto" },
      key: paramsKey(fragment.key, { city: "porto" }),
      controls: { params: { city: "porto" }, search },
    });
    expect(part.key).toBe(`${fragment.key}?city=porto`);
    // The default is a parameter set of its own, keyed with the default written out.
    expect(asked(fragments.partOf(fragment)).key).toBe(`${fragment.key}?city=lisbon`);
  });

  it("tags every key of a fragment with parameters `@<key>`, after the tags its source makes", () => {
    const { fragment, part } = cityFragment({ tags: ({ city }) => ["weather", `city:${city}`] });
    expect(fragments.everyKeyOf(fragment)).toBe(`@${fragment.key}`);
    const porto = asked(part("porto"));
    expect(porto.tags).toEqual(["weather", "city:porto", `@${fragment.key}`]);
    expect(porto.policy.tags).toBe(porto.tags);
    expect(asked(part("paris")).tags).toEqual(["weather", "city:paris", `@${fragment.key}`]);
  });

  it("refuses parameters the schema refuses, naming the parameter, with the defaults' controls", () => {
    const { fragment } = cityFragment();
    const part = fragments.partOf(fragment, { city: "oslo" });
    expect(part.refused).toBeInstanceOf(ParamsError);
    expect(part.refused?.param).toBe("city");
    expect(part).toMatchObject({ name: fragment.name, title: fragment.name, input: {} });
    expect(part.controls?.params).toEqual({ city: "lisbon" });
  });

  it("makes a part broken, logged once, when the source fails on accepted parameters", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { fragment } = cityFragment({ tags: ({ city }) => [`city ${city}`] });
    const part = fragments.partOf(fragment, { city: "porto" });
    expect(part.broken).toBe(true);
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0]![0])).toContain("a computed tag must be 1-128 characters");

    made += 1;
    const [dated] = fragments.fragmentsOf([
      defineSource({
        name: `dated${made}`,
        // The types refuse a schema whose output JSON cannot carry; a source written without them may not.
        params: z.object({ day: z.coerce.date() }) as never,
        title: "Dated",
        load: async () => "x",
        render: () => null,
      }),
    ]);
    expect(fragments.partOf(dated!, { day: "2024-01-01" }).broken).toBe(true);
    expect(String(error.mock.calls[1]![0])).toContain(ParamsShapeError.name);
  });
});

describe("lookUp of parts with parameters", () => {
  it("answers a refused part at once, 'refused' naming the parameter, with no loader call and one warning", async () => {
    const city = cityFragment();
    const lookup = fragments.lookUp(city.part("oslo"));
    const result = await lookup.result;
    expect(result).toMatchObject({ status: "refused", name: city.fragment.name, ms: 0 });
    expect(result.status === "refused" && result.message).toMatch(/^city: /);
    expect(await lookup.final).toBe(result);
    expect(await lookup.refreshed).toBeUndefined();
    expect(city.calls).toEqual([]);
    const warnings = vi
      .mocked(console.warn)
      .mock.calls.map(([line]) => String(line))
      .filter((line) => line.includes('"event":"params_refused"'));
    expect(warnings).toEqual([expect.stringContaining('"param":"city"')]);
    expect(warnings[0]).toContain(`"key":"${city.fragment.name}"`);
  });

  it("answers a broken part as an error at once, with no loader call", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const city = cityFragment({ tags: () => ["not a tag"] });
    expect(await fragments.lookUp(city.part("porto")).result).toMatchObject({ status: "error", ms: 0 });
    expect(city.calls).toEqual([]);
  });

  it("loads two parameter sets as two keys, once each, each with its own parameters", async () => {
    const city = cityFragment();
    expect(await fragments.lookUp(city.part("porto")).result).toMatchObject({
      status: "ready",
      data: "weather in porto",
      origin: "miss",
    });
    expect(await fragments.lookUp(city.part("paris")).result).toMatchObject({
      data: "weather in paris",
      origin: "miss",
    });
    expect(await fragments.lookUp(city.part("porto")).result).toMatchObject({
      data: "weather in porto",
      origin: "hit",
    });
    expect(await fragments.lookUp(city.part("paris")).result).toMatchObject({
      data: "weather in paris",
      origin: "hit",
    });
    expect(city.calls).toEqual(["porto", "paris"]);
  });

  it("answers 'busy' at once past the source's most loads in flight, while a cached set still answers 'hit'", async () => {
    const city = cityFragment({ maxInFlight: 1 });
    await fragments.lookUp(city.part("paris")).result;
    city.hold();
    const porto = fragments.lookUp(city.part("porto"));
    await vi.waitFor(() => expect(city.calls).toEqual(["paris", "porto"]));

    const started = performance.now();
    const busy = await fragments.lookUp(city.part("lisbon")).result;
    expect(performance.now() - started, "at once, not at the deadline").toBeLessThan(500);
    expect(busy).toMatchObject({ status: "busy", name: city.fragment.name });
    // Until the load under way must be over: its budget (UPSTREAM_TIMEOUT_MS, 10 s) and the lease margin.
    expect(busy.status === "busy" && busy.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(busy.status === "busy" && busy.retryAfterSeconds).toBeLessThanOrEqual(11);
    expect(await fragments.lookUp(city.part("paris")).result).toMatchObject({ status: "ready", origin: "hit" });
    expect(city.calls).toEqual(["paris", "porto"]);

    city.release();
    expect(await porto.result).toMatchObject({ status: "ready", data: "weather in porto", origin: "miss" });
    // The load over, the next parameter set loads.
    expect(await fragments.lookUp(city.part("lisbon")).result).toMatchObject({ status: "ready", origin: "miss" });
    expect(city.calls).toEqual(["paris", "porto", "lisbon"]);
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
