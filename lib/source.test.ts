import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "./config-error";
import { checkSources, defineSource, SourceDataError, SourceDefinitionError, type SourceDefinition } from "./source";
import { UpstreamError } from "./upstream";

/** A loader's `set`, for calls whose settings no test reads. */
const noSettings = () => {};

type Reading = { celsius: number };

const base: SourceDefinition<Reading> = {
  name: "weather",
  title: "Weather",
  load: async () => ({ current: { temp_c: 21.5 } }),
  schema: z
    .object({ current: z.object({ temp_c: z.number() }) })
    .transform(({ current }) => ({ celsius: current.temp_c })),
  render: ({ data }) => `${data.celsius} °C`,
};

/** The error a bad definition throws at start. */
function definitionError(definition: Record<string, unknown>): SourceDefinitionError {
  try {
    defineSource(definition as unknown as SourceDefinition<Reading>);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceDefinitionError);
    expect(error).toBeInstanceOf(ConfigError);
    return error as SourceDefinitionError;
  }
  throw new Error("the definition was accepted");
}

describe("defineSource", () => {
  it("keeps what the page and the cache need, with the name as the key", () => {
    const source = defineSource({ ...base, tags: ["outside"], freshSeconds: 600, deadlineMs: 2000 });
    expect(source).toMatchObject({ name: "weather", key: "weather", params: undefined, fixedTags: ["outside"] });
    expect(source.title({})).toBe("Weather");
    expect(source.tags({})).toEqual(["outside"]);
    expect(source.controls).toBeUndefined();
    expect(source.settings).toEqual({
      freshSeconds: 600,
      graceSeconds: undefined,
      deadlineMs: 2000,
      upstreamTimeoutMs: undefined,
      maxInFlight: undefined,
    });
  });

  it("keys a later version apart, so data of an older shape is never read", () => {
    expect(defineSource({ ...base, version: 2 }).key).toBe("weather@2");
  });

  it("loads through the schema: only its output comes back", async () => {
    const source = defineSource(base);
    await expect(source.loadData({}, new AbortController().signal, noSettings)).resolves.toEqual({ celsius: 21.5 });
  });

  it("fails an answer the schema refuses as an upstream failure, saying where", async () => {
    const source = defineSource({ ...base, load: async () => ({ current: { temp_c: "warm" } }) });
    const error = await source
      .loadData({}, new AbortController().signal, noSettings)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceDataError);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain('source "weather"');
    expect((error as Error).message).toContain("current.temp_c");
  });

  it("passes the signal to the loader and its rejection on as it is", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const failure = new UpstreamError("down");
    const source = defineSource({ ...base, load: async ({ signal }) => ((seen = signal), Promise.reject(failure)) });
    await expect(source.loadData({}, controller.signal, noSettings)).rejects.toBe(failure);
    expect(seen).toBe(controller.signal);
  });

  it("without a schema, gives the loader's answer as it is", async () => {
    const source = defineSource<string>({
      name: "plain",
      title: "Plain",
      load: async () => "text",
      render: ({ data }) => data,
    });
    await expect(source.loadData({}, new AbortController().signal, noSettings)).resolves.toBe("text");
  });

  it.each([
    [{ name: "bad name" }, '"bad name": name must be 1-64 characters'],
    [{ name: "x".repeat(65) }, "name must be 1-64 characters"],
    [{ title: " " }, '"weather": title must not be empty'],
    [{ load: "https://example.com" }, '"weather": load must be a function'],
    [{ render: undefined }, '"weather": render'],
    [{ schema: { parse: () => 1 } }, '"weather": schema must be a zod schema'],
    [{ freshSeconds: 0 }, '"weather": freshSeconds'],
    [{ graceSeconds: -1 }, '"weather": graceSeconds'],
    [{ deadlineMs: 1.5 }, '"weather": deadlineMs'],
    [{ upstreamTimeoutMs: 600_001 }, '"weather": upstreamTimeoutMs'],
    [{ tags: ["news", "news"] }, '"weather": tags must not repeat a tag'],
    [{ tags: ["a b"] }, '"weather": tags.0 must be 1-128 characters of A-Z a-z 0-9 _ - . : /'],
    [{ tags: ["x".repeat(129)] }, '"weather": tags.0 must be 1-128 characters'],
    [{ tags: ["@weather"] }, '"weather": tags.0 must be 1-128 characters'],
    [{ params: z.string() }, '"weather": params must be a zod object'],
    [{ params: { city: z.string() } }, '"weather": params must be a zod object'],
    [{ controls: "<form>" }, '"weather": controls must be a function'],
    [{ maxInFlight: 0 }, '"weather": maxInFlight'],
    [{ maxInFlight: 10_001 }, '"weather": maxInFlight'],
    [{ maxInFlight: 1.5 }, '"weather": maxInFlight'],
    [{ version: 0 }, '"weather": version'],
    [{ freshSecs: 60 }, '"weather": definition'],
  ])("refuses %o at start, naming the source and the option", (change, message) => {
    expect(definitionError({ ...base, ...change }).message).toContain(message);
  });

  it("names a definition without a name as such", () => {
    expect(definitionError({ ...base, name: undefined }).message).toMatch(/^Source without a name: name/);
  });
});

describe("defineSource with parameters", () => {
  const productParams = z.object({ id: z.string().min(1), page: z.coerce.number().int().default(1) });

  /** A source of products, asked by id; `tags` as the test gives them. */
  function products(tags: SourceDefinition<string, z.output<typeof productParams>>["tags"]) {
    return defineSource({
      name: "product",
      params: productParams,
      title: ({ id, page }) => `Product ${id}, page ${page}`,
      load: async ({ params }) => `product ${params.id}`,
      render: () => null,
      tags,
    });
  }

  it("keeps its schema, and makes its title and tags from each parameter set", () => {
    const source = products(({ id }) => ["product", `product:${id}`]);
    expect(source.params).toBe(productParams);
    expect(source.fixedTags).toBeUndefined();
    expect(source.title({ id: "42", page: 2 })).toBe("Product 42, page 2");
    expect(source.tags({ id: "42", page: 1 })).toEqual(["product", "product:42"]);
    expect(source.tags({ id: "7", page: 1 })).toEqual(["product", "product:7"]);
  });

  it("keeps fixed tags fixed whatever the parameters", () => {
    const source = products(["catalog"]);
    expect(source.fixedTags).toEqual(["catalog"]);
    expect(source.tags({ id: "1", page: 1 })).toEqual(["catalog"]);
  });

  it("drops a computed tag made twice rather than refuse it", () => {
    const source = products(({ id }) => [`product:${id}`, `product:${id}`, "product"]);
    expect(source.tags({ id: "9", page: 1 })).toEqual(["product:9", "product"]);
  });

  it.each([
    ["a space", "a b"],
    ["129 characters", "x".repeat(129)],
    ["empty", ""],
    ["braces", "{x}"],
    ["an @, which marks the fragment's own tag", "@product"],
  ])("throws a SourceDefinitionError naming the source when a computed tag breaks the rule (%s)", (_case, id) => {
    const source = products(({ id: asked }) => ["product", asked]);
    const made = () => source.tags({ id, page: 1 });
    expect(made).toThrow(SourceDefinitionError);
    expect(made).toThrow('Source "product": a computed tag must be 1-128 characters of A-Z a-z 0-9 _ - . : /');
  });

  it("hands the loader the parameters it is given, with the signal and the cache's set", async () => {
    const controller = new AbortController();
    let call: unknown;
    const source = defineSource({
      name: "echo",
      params: productParams,
      title: "Echo",
      load: async (given) => ((call = given), given.params),
      render: () => null,
    });
    await expect(source.loadData({ id: "3", page: 4 }, controller.signal, noSettings)).resolves.toEqual({
      id: "3",
      page: 4,
    });
    expect(call).toEqual({ params: { id: "3", page: 4 }, signal: controller.signal, set: noSettings });
  });

  it("keeps a source's controls and its own most loads in flight", () => {
    const controls = () => null;
    const source = defineSource({ ...base, controls, maxInFlight: 1 });
    expect(source.controls).toBe(controls);
    expect(source.settings.maxInFlight).toBe(1);
    expect(defineSource({ ...base, maxInFlight: 10_000 }).settings.maxInFlight).toBe(10_000);
  });
});

describe("checkSources", () => {
  it("keeps the sources in page order", () => {
    const sources = [defineSource({ ...base, name: "b" }), defineSource({ ...base, name: "a" })];
    expect(checkSources(sources).map((source) => source.name)).toEqual(["b", "a"]);
  });

  it("refuses a name defined twice, naming it, and an empty page", () => {
    const twice = [defineSource(base), defineSource({ ...base, title: "Again" })];
    expect(() => checkSources(twice)).toThrow(
      new SourceDefinitionError('Source "weather" is defined twice: names must be unique'),
    );
    expect(() => checkSources([])).toThrow(SourceDefinitionError);
  });
});
