import { beforeAll, expect, it } from "vitest";
import type * as PageFragments from "./page-fragments";

let page: typeof PageFragments;

beforeAll(async () => {
  // Read on first use: the configuration decides which fragments the page has.
  Object.assign(process.env, { FRAGMENTS: "first,second", FRAGMENT_DEADLINE_MS: "2500" });
  page = await import("./page-fragments");
});

it("are FRAGMENTS' text fragments, in order, when it is set, instead of the sources in sources/", () => {
  expect(page.pageFragments().map(({ name, title }) => [name, title])).toEqual([
    ["first", "Fragment first"],
    ["second", "Fragment second"],
  ]);
  expect(page.fragmentNamed("second")?.name).toBe("second");
  expect(page.fragmentNamed("weather")).toBeUndefined();
  expect(page.isKnownTag("news")).toBe(false);
  expect(page.longestDeadlineMs()).toBe(2500);
});

it("are made once: the page, its routes and the timeline hold the same objects", () => {
  expect(page.fragmentNamed("first")).toBe(page.pageFragments()[0]);
});
