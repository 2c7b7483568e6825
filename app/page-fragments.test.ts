import { beforeAll, describe, expect, it, vi } from "vitest";
import type * as PageFragments from "./page-fragments";

/** The module as a process with `env` sees it: the configuration, read on first use, decides the fragments. */
async function pageWith(env: Record<string, string | undefined>): Promise<typeof PageFragments> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return import("./page-fragments");
}

describe("with FRAGMENTS set", () => {
  let page: typeof PageFragments;

  beforeAll(async () => {
    page = await pageWith({ FRAGMENTS: "first,second", FRAGMENT_DEADLINE_MS: "2500", SLOW_API_URL: undefined });
  });

  it("are FRAGMENTS' text fragments, in order, when it is set, instead of the sources in sources/", () => {
    expect(page.pageFragments().map(({ name, key, params }) => [name, key, params])).toEqual([
      ["first", "first", undefined],
      ["second", "second", undefined],
    ]);
    expect(page.pageParts(new URLSearchParams()).map(({ name, title }) => [name, title])).toEqual([
      ["first", "Fragment first"],
      ["second", "Fragment second"],
    ]);
    expect(page.fragmentNamed("second")?.name).toBe("second");
    expect(page.fragmentNamed("weather")).toBeUndefined();
    expect(page.mayCarryTag("news")).toBe(false);
    expect(page.longestDeadlineMs()).toBe(2500);
  });

  it("are made once: the page, its routes and the timeline hold the same objects", () => {
    expect(page.fragmentNamed("first")).toBe(page.pageFragments()[0]);
    expect(page.pageParts(new URLSearchParams())[1]?.fragment).toBe(page.pageFragments()[1]);
  });

  it("read a page's searchParams as a URL's search, repeated names and all", () => {
    const search = page.searchOf({ city: "porto", tag: ["a", "b"], none: undefined, empty: "" });
    expect(search.toString()).toBe("city=porto&tag=a&tag=b&empty=");
  });
});

describe("with SLOW_API_URL holding a placeholder besides {query}", () => {
  let page: typeof PageFragments;

  beforeAll(async () => {
    page = await pageWith({
      FRAGMENTS: "one,two",
      SLOW_API_URL: "http://127.0.0.1:9/{query}?city={city}",
    });
  });

  it("gives every text fragment the placeholder as a required parameter, read from the search", () => {
    const parts = page.pageParts(new URLSearchParams("city=porto&other=1"));
    expect(parts.map(({ title, refused }) => [title, refused])).toEqual([
      ["Fragment one (porto)", undefined],
      ["Fragment two (porto)", undefined],
    ]);
    expect(parts[0]).toMatchObject({ key: "one?city=porto", input: { city: "porto" }, params: { city: "porto" } });
  });

  it("lets a route segment of the same name win over the search", () => {
    const [part] = page.pageParts(new URLSearchParams("city=porto"), { city: "paris" });
    expect(part).toMatchObject({ title: "Fragment one (paris)", key: "one?city=paris" });
  });

  it("refuses each part, naming the parameter, when the request leaves it out or leaves it empty", () => {
    const parts = page.pageParts(new URLSearchParams());
    expect(parts.map((part) => part.refused?.param)).toEqual(["city", "city"]);
    expect(parts[0]?.refused?.message).toMatch(/^city: /);
    expect(parts[0]?.title).toBe("one");
    const [empty] = page.pageParts(new URLSearchParams("city="));
    expect(empty?.refused?.message).toBe("city: is required: 1-200 characters");
    const [long] = page.pageParts(new URLSearchParams({ city: "x".repeat(201) }));
    expect(long?.refused?.message).toBe("city: must be at most 200 characters");
  });

  it("knows no declared tag on text fragments", () => {
    expect(page.mayCarryTag("city")).toBe(false);
  });
});
