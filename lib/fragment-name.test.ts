import { describe, it, expect } from "vitest";
import { isFragmentName, isTag } from "./fragment-name";

describe("isFragmentName accepts", () => {
  it.each(["a", "Z", "0", "_", "-", "news", "Weather_2024", "top-10", "A-Za-z0-9_-", "--", "__proto__", "constructor"])(
    "%j",
    (name) => {
      expect(isFragmentName(name)).toBe(true);
    },
  );

  it("a name of exactly 64 characters", () => {
    expect(isFragmentName("a".repeat(64))).toBe(true);
    expect(isFragmentName("Az09_-".repeat(10) + "abcd")).toBe(true);
  });
});

describe("isFragmentName rejects", () => {
  it("the empty string", () => {
    expect(isFragmentName("")).toBe(false);
  });

  it("a name of 65 characters", () => {
    expect(isFragmentName("a".repeat(65))).toBe(false);
  });

  it("a 10 KB string, quickly", () => {
    const started = performance.now();
    expect(isFragmentName("a".repeat(10 * 1024))).toBe(false);
    expect(isFragmentName(`${"a".repeat(10 * 1024)}!`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it.each([
    ".",
    "..",
    "../a",
    "a/..",
    "a/b",
    "/a",
    "a/",
    "a\\b",
    "%2F",
    "a%2Fb",
    "%2e%2e",
    "a.b",
    "a?b",
    "a#b",
    "a&b=c",
    "a:b",
    "~a",
  ])("the path or URL trick %j", (name) => {
    expect(isFragmentName(name)).toBe(false);
  });

  it.each([
    " a",
    "a ",
    "a b",
    "\ta",
    "a\n",
    "\na",
    "a\r\n",
    "a\u0000",
    "\u0000",
    "a\u0007b",
    "a\u001b[31m",
    "a\u007f",
    "a\u2028",
    "a\u00a0",
  ])("whitespace or a control character in %j", (name) => {
    expect(isFragmentName(name)).toBe(false);
  });

  it.each([
    "é",
    "café",
    "ñame",
    "日本",
    "а" /* Cyrillic a */,
    "ａ" /* fullwidth a */,
    "a\u200b",
    "\u{1F600}",
    "a\u0301",
    "ß",
    "İ",
    "Ⅰ",
  ])("the non-ASCII name %j", (name) => {
    expect(isFragmentName(name)).toBe(false);
  });

  it.each([
    "<b>",
    'a"b',
    "a'b",
    "a`b",
    "a<b",
    "a>b",
    "a=b",
    "a,b",
    "a;b",
    "a*b",
    "a+b",
    "a$b",
    "a{b}",
    "a[0]",
    "a|b",
    "a@b",
    "a!b",
  ])("the markup or separator character in %j", (name) => {
    expect(isFragmentName(name)).toBe(false);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a number", 1],
    ["NaN", Number.NaN],
    ["a bigint", 1n],
    ["a boolean", true],
    ["a symbol", Symbol("a")],
    ["an object", { name: "a" }],
    ["an object whose toString is a valid name", { toString: () => "a" }],
    ["an array holding a valid name", ["a"]],
    ["a String wrapper object", new String("a")],
    ["a function", () => "a"],
  ])("%s", (_label, value) => {
    expect(isFragmentName(value)).toBe(false);
  });
});

describe("isFragmentName", () => {
  it("gives the same answer on repeated calls (no regex lastIndex state)", () => {
    for (let i = 0; i < 5; i++) {
      expect(isFragmentName("abc")).toBe(true);
      expect(isFragmentName("a/b")).toBe(false);
    }
  });

  it("narrows an unknown value to string", () => {
    const value: unknown = "news";
    if (isFragmentName(value)) {
      const narrowed: string = value;
      expect(narrowed.toUpperCase()).toBe("NEWS");
    } else {
      expect.unreachable("news is a valid fragment name");
    }
  });
});

describe("isTag", () => {
  it.each(["news", "product:42", "region/eu-west", "v1.2", "a", "A-Za-z0-9_.:/-", "x".repeat(128)])(
    "accepts %j",
    (tag) => {
      expect(isTag(tag)).toBe(true);
    },
  );

  it.each(["", "x".repeat(129), "a b", "@weather", "{x}", "a?b", "a#b", "a&b", "a=b", "a%2F", "café", "a\n", "a,b"])(
    "refuses %j",
    (tag) => {
      expect(isTag(tag)).toBe(false);
    },
  );

  it.each([undefined, null, 1, ["news"], new String("news")])("refuses the non-string %j", (value) => {
    expect(isTag(value)).toBe(false);
  });
});
