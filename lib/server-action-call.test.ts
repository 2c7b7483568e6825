import { describe, expect, it } from "vitest";
import { isForeignOrigin, isPlainActionCall } from "./server-action-call";

describe("isForeignOrigin", () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);

  it("lets a call from the host it was sent to through, directly or behind a proxy that names it", () => {
    expect(isForeignOrigin(headers({ host: "app.example:3000", origin: "http://app.example:3000" }))).toBe(false);
    expect(
      isForeignOrigin(
        headers({ host: "127.0.0.1:3000", "x-forwarded-host": "app.example", origin: "https://app.example" }),
      ),
    ).toBe(false);
    expect(
      isForeignOrigin(
        headers({ host: "10.0.0.5", "x-forwarded-host": "app.example, cdn.example", origin: "https://app.example" }),
      ),
    ).toBe(false);
  });

  it("lets a call without Origin through, as Next does: no browser sends one", () => {
    expect(isForeignOrigin(headers({ host: "app.example" }))).toBe(false);
  });

  it.each([
    ["another site", { host: "app.example", origin: "https://evil.example" }],
    ["another port", { host: "app.example:3000", origin: "http://app.example:3001" }],
    [
      "the Host when a proxy names another",
      { host: "app.example", "x-forwarded-host": "public.example", origin: "https://app.example" },
    ],
    ["an opaque origin", { host: "app.example", origin: "null" }],
    ["no URL", { host: "app.example", origin: "app.example" }],
    ["no host to compare with", { origin: "https://app.example" }],
  ])("refuses %s", (_, entries) => {
    expect(isForeignOrigin(headers(entries))).toBe(true);
  });
});

describe("isPlainActionCall", () => {
  it.each([
    '["rates"]',
    '["unknown-name"]',
    "[42]",
    "[true]",
    "[null]",
    '[""]',
    '["weather",{}]',
    '["weather",{"city":"porto"}]',
    '["search",{"q":["a","b"]}]',
  ])("takes %s", (body) => {
    expect(isPlainActionCall(body)).toBe(true);
  });

  it.each([
    ["broken JSON", '["rates"'],
    ["an empty body", ""],
    ["no array", '"rates"'],
    ["an object", '{"name":"rates"}'],
    ["no argument", "[]"],
    ["a second argument that is no object", '["rates","news"]'],
    ["three arguments", '["rates",{},{}]'],
    ["parameters with a reference", '["rates",{"city":"$1"}]'],
    ["parameters nested deeper", '["rates",{"city":{"name":"porto"}}]'],
    ["parameters with a list of lists", '["rates",{"q":[["a"]]}]'],
    ["parameters with a number", '["rates",{"page":2}]'],
    ["parameters as a list", '["rates",["porto"]]'],
    ["an object argument", '[{"name":"rates"}]'],
    ["a nested array", '[["rates"]]'],
    ["a deeply nested array", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
    ["a reference to another part", '["$1"]'],
    ["a server reference", '["$F1"]'],
    ["an escaped dollar", '["$$rates"]'],
  ])("refuses %s", (_, body) => {
    expect(isPlainActionCall(body)).toBe(false);
  });
});
