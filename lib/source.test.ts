import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "./config-error";
import { checkSources, defineSource, SourceDataError, SourceDefinitionError, type SourceDefinition } from "./source";
import { UpstreamError } from "./upstream";

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
    expect(source).toMatchObject({ name: "weather", title: "Weather", key: "weather", tags: ["outside"] });
    expect(source.settings).toEqual({
      freshSeconds: 600,
      graceSeconds: undefined,
      deadlineMs: 2000,
      upstreamTimeoutMs: undefined,
    });
  });

  it("keys a later version apart, so data of an older shape is never read", () => {
    expect(defineSource({ ...base, version: 2 }).key).toBe("weather@2");
  });

  it("loads through the schema: only its output comes back", async () => {
    const source = defineSource(base);
    await expect(source.loadData(new AbortController().signal)).resolves.toEqual({ celsius: 21.5 });
  });

  it("fails an answer the schema refuses as an upstream failure, saying where", async () => {
    const source = defineSource({ ...base, load: async () => ({ current: { temp_c: "warm" } }) });
    const error = await source.loadData(new AbortController().signal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceDataError);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain('source "weather"');
    expect((error as Error).message).toContain("current.temp_c");
  });

  it("passes the signal to the loader and its rejection on as it is", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const failure = new UpstreamError("down");
    const source = defineSource({ ...base, load: async (signal) => ((seen = signal), Promise.reject(failure)) });
    await expect(source.loadData(controller.signal)).rejects.toBe(failure);
    expect(seen).toBe(controller.signal);
  });

  it("without a schema, gives the loader's answer as it is", async () => {
    const source = defineSource<string>({
      name: "plain",
      title: "Plain",
      load: async () => "text",
      render: ({ data }) => data,
    });
    await expect(source.loadData(new AbortController().signal)).resolves.toBe("text");
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
    [{ tags: ["a/b"] }, '"weather": tags.0 must be 1-64 characters'],
    [{ version: 0 }, '"weather": version'],
    [{ freshSecs: 60 }, '"weather": definition'],
  ])("refuses %o at start, naming the source and the option", (change, message) => {
    expect(definitionError({ ...base, ...change }).message).toContain(message);
  });

  it("names a definition without a name as such", () => {
    expect(definitionError({ ...base, name: undefined }).message).toMatch(/^Source without a name: name/);
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
