import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Json } from "./json";
import {
  inputOf,
  KEY_MAX_CHARS,
  ParamsError,
  paramsKey,
  ParamsShapeError,
  parseParams,
  type Params,
  type ParsedParams,
} from "./params";

/** The characters a key may hold: a cache key stays whole inside a Redis Cluster hash tag `{…}`. */
const KEY_CHARACTERS = /^[A-Za-z0-9_.%?&=~#@-]*$/;

/** JSON with every object's fields sorted, written here apart from the module under test: the sets' identity. */
function sortedJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.keys(value).sort();
    return `{${fields.map((name) => `${JSON.stringify(name)}:${sortedJson(value[name]!)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A small deterministic generator (mulberry32), so a failing case can be found again. */
function random(seed: number) {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

/** Characters that have a meaning in a query, a key layout, JSON or UTF-16, and a few plain ones. */
const ALPHABET = [
  "a",
  "b",
  "1",
  "&",
  "=",
  "~",
  "%",
  "%26",
  "#",
  "{",
  "}",
  "?",
  "+",
  " ",
  '"',
  ",",
  "[",
  "]",
  ":",
  "é",
  "😀",
];
const FIELD_NAMES = ["a", "b", "c", "a&b", "=", "~", "%"];

function generatedText(rng: ReturnType<typeof random>): string {
  const length = Math.floor(rng.next() * 4);
  return Array.from({ length }, () => rng.pick(ALPHABET)).join("");
}

function generatedValue(rng: ReturnType<typeof random>, depth = 0): Json {
  const kind = rng.pick(
    depth > 1 ? ["text", "text", "number", "literal"] : ["text", "text", "number", "literal", "array", "object"],
  );
  switch (kind) {
    case "text":
      return generatedText(rng);
    case "number":
      return rng.pick([0, 1, -1, 1.5, 10, 1e21]);
    case "literal":
      return rng.pick([true, false, null, "true", "null", "1"]);
    case "array":
      return Array.from({ length: Math.floor(rng.next() * 3) }, () => generatedValue(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rng.next() * 3) }, () => [
          rng.pick(FIELD_NAMES),
          generatedValue(rng, depth + 1),
        ]),
      );
  }
}

function generatedParams(rng: ReturnType<typeof random>): Record<string, Json> {
  return Object.fromEntries(
    Array.from({ length: Math.floor(rng.next() * 4) }, () => [rng.pick(FIELD_NAMES), generatedValue(rng)]),
  );
}

/** The same set with its fields, and the fields of every object in it, built in reverse order. */
function reversed(value: Json): Json {
  if (Array.isArray(value)) return value.map(reversed);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([name, item]) => [name, reversed(item)]),
    );
  return value;
}

describe("paramsKey", () => {
  it.each<[string, Params, Params]>([
    ["an encoded & against a separator", { a: "b&c" }, { a: "b", c: "" }],
    ["an encoded = against a separator", { a: "b=c" }, { a: "b", c: "" }],
    ["a value holding a separator against two fields", { a: "b&c=d" }, { a: "b", c: "d" }],
    ["a field name holding a separator", { "a&b": "c" }, { a: "", b: "c" }],
    ["text that looks encoded against the text it encodes", { a: "b%26c" }, { a: "b&c" }],
    ["a list of one against its item", { a: ["x"] }, { a: "x" }],
    ["a number against its digits", { a: 1 }, { a: "1" }],
    ["true against its text", { a: true }, { a: "true" }],
    ["null against its text", { a: null }, { a: "null" }],
    ["a list against its JSON text", { a: ["x", "y"] }, { a: '["x","y"]' }],
    ["text starting with the non-text mark", { a: "~1" }, { a: 1 }],
    ["text holding %", { a: "%" }, { a: "%25" }],
    ["text holding #, the digest mark", { a: "#" }, { a: "%23" }],
    ["braces against their encoding", { a: "{}" }, { a: "%7B%7D" }],
    ["an empty object against its text", { a: {} }, { a: "{}" }],
    ["unicode against its UTF-8 bytes as text", { a: "é" }, { a: "Ã©" }],
    ["two emoji", { a: "😀" }, { a: "😁" }],
    ["an empty string against an absent field", { a: "" }, {}],
    ["an empty list against an empty string", { a: [] }, { a: "" }],
    ["0 against false", { a: 0 }, { a: false }],
    ["a nested list against a flat one", { a: [["x", "y"]] }, { a: ["x", "y"] }],
    ["the same text under two names", { a: "x" }, { b: "x" }],
  ])("keys apart %s", (_case, first, second) => {
    expect(paramsKey("s", first)).not.toBe(paramsKey("s", second));
  });

  it.each<[string, Params, Params]>([
    ["fields in another order", { a: "1", b: "2", c: "3" }, { c: "3", a: "1", b: "2" }],
    [
      "nested objects with their fields in another order",
      { a: { x: 1, y: [{ p: 1, q: 2 }] } },
      { a: { y: [{ q: 2, p: 1 }], x: 1 } },
    ],
    ["an absent field against an undefined one", {}, { a: undefined as unknown as Json }],
    [
      "a nested undefined field against an absent one",
      { a: { x: 1 } },
      { a: { x: 1, y: undefined as unknown as Json } },
    ],
  ])("keys alike %s", (_case, first, second) => {
    expect(paramsKey("s", first)).toBe(paramsKey("s", second));
  });

  it("keys each source apart, and a source without parameters as its name and a '?'", () => {
    expect(paramsKey("weather", {})).toBe("weather?");
    expect(paramsKey("weather", { city: "porto" })).not.toBe(paramsKey("weather@2", { city: "porto" }));
  });

  it("gives distinct sets distinct keys and equal sets one key, over thousands of generated sets", () => {
    const rng = random(20_240_601);
    const setOfKey = new Map<string, string>();
    const keyOfSet = new Map<string, string>();
    for (let made = 0; made < 5000; made += 1) {
      const params = generatedParams(rng);
      const identity = sortedJson(params);
      const key = paramsKey("source", params);
      expect(key, identity).toMatch(KEY_CHARACTERS);
      expect(paramsKey("source", reversed(params) as Params), identity).toBe(key);
      const sameKey = setOfKey.get(key);
      if (sameKey !== undefined) expect(identity, `one key for two sets: ${key}`).toBe(sameKey);
      const sameSet = keyOfSet.get(identity);
      if (sameSet !== undefined) expect(key, `two keys for one set: ${identity}`).toBe(sameSet);
      setOfKey.set(key, identity);
      keyOfSet.set(identity, key);
    }
    // The generator repeats itself often enough that both directions were checked.
    expect(keyOfSet.size).toBeGreaterThan(1000);
    expect(keyOfSet.size).toBeLessThan(5000);
  });

  it("never writes a brace, a space or a raw separator inside a value, whatever the value holds", () => {
    for (const text of ["{x}", "}{", "a b", "\n", "\u0000", "&=?#", "~", "!'()*"]) {
      const key = paramsKey("s", { text, list: [text], object: { [text]: text } });
      expect(key).toMatch(KEY_CHARACTERS);
      // Three fields, three separators: none came from a value.
      expect(key.split("&")).toHaveLength(3);
      expect(key.split("=")).toHaveLength(4);
    }
  });

  it("is the same string in every process and every release: keys name entries other instances share", () => {
    const cases: Array<[string, Params, string]> = [
      ["weather", { city: "porto" }, "weather?city=porto"],
      [
        "search@2",
        { q: "a b&c", page: 2, tags: ["x", "y"], exact: true, none: null },
        "search@2?exact=~true&none=~null&page=~2&q=a%20b%26c&tags=~%5B%22x%22%2C%22y%22%5D",
      ],
      [
        "s",
        { "a&b": "~!'()*", nested: { b: 1, a: "é" } },
        "s?a%26b=%7E%21%27%28%29%2A&nested=~%7B%22a%22%3A%22%C3%A9%22%2C%22b%22%3A1%7D",
      ],
    ];
    for (const [base, params, key] of cases) expect(paramsKey(base, params)).toBe(key);

    // Computed again in a process of its own, its fields built in the other order.
    const script = `const { paramsKey } = require("./lib/params.ts");
      process.stdout.write(JSON.stringify([
        paramsKey("search@2", { none: null, exact: true, tags: ["x", "y"], page: 2, q: "a b&c" }),
        paramsKey("s", { q: "y".repeat(300) }),
      ]));`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual([cases[1]![2], paramsKey("s", { q: "y".repeat(300) })]);
  }, 20_000);

  describe("a key over the limit", () => {
    const long = (tail: string) => ({ q: `${"x".repeat(250)}${tail}` });

    it("keeps a readable prefix, then # and the SHA-256 of the whole key, within the limit", () => {
      const whole = `s?q=${"x".repeat(250)}a`;
      const key = paramsKey("s", long("a"));
      const digest = createHash("sha256").update(whole).digest("base64url");
      expect(key).toBe(`${whole.slice(0, 150)}#${digest}`);
      expect(key.length).toBeLessThanOrEqual(KEY_MAX_CHARS);
      expect(key.startsWith("s?q=xxxx")).toBe(true);
      expect(key).toMatch(KEY_CHARACTERS);
    });

    it("tells apart two keys that differ only at their end, past the prefix", () => {
      expect(paramsKey("s", long("a"))).not.toBe(paramsKey("s", long("b")));
      expect(paramsKey("s", long("a"))).toBe(paramsKey("s", long("a")));
    });

    it("cuts only keys over the limit, whose length counts the encoded form", () => {
      const at = (length: number) => paramsKey("s", { q: "x".repeat(length - "s?q=".length) });
      expect(at(KEY_MAX_CHARS)).toBe(`s?q=${"x".repeat(KEY_MAX_CHARS - 4)}`);
      expect(at(KEY_MAX_CHARS + 1)).toContain("#");
      // Encoded, 65 spaces are 199 characters with the rest of the key, and 66 are 202.
      expect(paramsKey("s", { q: " ".repeat(65) })).not.toContain("#");
      expect(paramsKey("s", { q: " ".repeat(66) })).toContain("#");
    });

    it("is never equal to a short key: only a cut key holds #", () => {
      expect(paramsKey("s", { q: "#" })).not.toContain("#");
      expect(paramsKey("s", long("")).split("#")).toHaveLength(2);
    });
  });

  it.each<[string, unknown, string]>([
    ["a Date", new Date(0), "when is an object JSON cannot carry"],
    ["NaN", Number.NaN, "when is NaN, which JSON cannot carry"],
    ["Infinity deep in a list", [1, { x: Number.POSITIVE_INFINITY }], "when[1].x is Infinity"],
    ["a Map", new Map(), "when is an object JSON cannot carry"],
    ["a bigint", 1n, "when is bigint"],
    ["undefined in a list", [undefined], "when[0] is undefined"],
  ])("throws a ParamsShapeError naming the field for %s, a mistake in the source's schema", (_case, value, message) => {
    const made = () => paramsKey("s", { when: value as Json });
    expect(made).toThrow(ParamsShapeError);
    expect(made).toThrow(TypeError);
    expect(made).toThrow(message);
  });
});

describe("parseParams", () => {
  const schema = z.object({
    city: z.enum(["lisbon", "porto"]).default("lisbon"),
    q: z.string().max(5).optional(),
    tags: z.array(z.string()).optional(),
    id: z.string(),
  });

  /** The refusal `input` meets. */
  function refusal(input: Record<string, unknown>, against: z.ZodObject = schema): ParamsError {
    const parsed = parseParams(against, input);
    expect(parsed).toBeInstanceOf(ParamsError);
    return parsed as ParamsError;
  }

  function accepted(input: Record<string, unknown>, against: z.ZodObject = schema): ParsedParams {
    const parsed = parseParams(against, input);
    if (parsed instanceof ParamsError) throw new Error(`refused: ${parsed.message}`);
    return parsed;
  }

  it("applies defaults, and keeps as input only what the request gave for the names the schema reads", () => {
    expect(accepted({ id: "7" })).toEqual({ params: { city: "lisbon", id: "7" }, input: { id: "7" } });
    expect(accepted({ id: "7", city: "porto", q: "rain", tags: ["a", "b"] })).toEqual({
      params: { city: "porto", q: "rain", tags: ["a", "b"], id: "7" },
      input: { id: "7", city: "porto", q: "rain", tags: ["a", "b"] },
    });
  });

  it("ignores the fields the schema does not name, ill-formed ones included", () => {
    const parsed = accepted({ id: "7", other: "x", page: ["1", "2"], bad: "\uD800" });
    expect(parsed.params).toEqual({ city: "lisbon", id: "7" });
    expect(parsed.input).toEqual({ id: "7" });
  });

  it("keeps an input value that is not text as its JSON, so a retry can send it again", () => {
    const numbers = z.object({ page: z.number().int(), at: z.object({ x: z.number() }) });
    expect(accepted({ page: 3, at: { x: 1 } }, numbers).input).toEqual({ page: "3", at: '{"x":1}' });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ["a missing required parameter", {}, "id", "id: "],
    ["a value outside an enum", { id: "1", city: "oslo" }, "city", "city: "],
    ["a value too long", { id: "1", q: "toolong" }, "q", "q: Too big"],
    ["a list where the schema reads one string", { id: ["1", "2"] }, "id", "id: "],
    ["a string where it reads a list", { id: "1", tags: "a" }, "tags", "tags: "],
    ["a lone surrogate", { id: "a\uD800b" }, "id", "id: must be well-formed text"],
    ["a lone low surrogate in a list", { id: "1", tags: ["ok", "\uDC00"] }, "tags", "tags: must be well-formed text"],
  ])("refuses %s, naming the parameter", (_case, input, param, message) => {
    const error = refusal(input);
    expect(error.param).toBe(param);
    expect(error.message.startsWith(message)).toBe(true);
    expect(error.name).toBe("ParamsError");
  });

  it("accepts text whose surrogates are paired", () => {
    expect(accepted({ id: "😀" }).params).toMatchObject({ id: "😀" });
  });

  it("refuses ill-formed text a schema's transform made, in a nested object too", () => {
    const cut = z.object({ first: z.string().transform((text) => text.slice(0, 1)) });
    expect(refusal({ first: "😀" }, cut).message).toBe("first: must be well-formed text");
    const nested = z.object({ at: z.record(z.string(), z.string()) });
    expect(refusal({ at: { "\uD800": "x" } }, nested).message).toBe("at: must be well-formed text");
  });

  it("names no parameter when the refusal is about the whole set", () => {
    const either = z
      .object({ a: z.string().optional(), b: z.string().optional() })
      .refine((set) => set.a !== undefined || set.b !== undefined, "needs a or b");
    const error = refusal({}, either as unknown as z.ZodObject);
    expect(error.param).toBeUndefined();
    expect(error.message).toBe("needs a or b");
  });

  it("uses the schema's own message for the rule", () => {
    const city = z.object({ city: z.enum(["lisbon"], { error: "must be lisbon" }) });
    expect(refusal({ city: "porto" }, city).message).toBe("city: must be lisbon");
  });
});

describe("inputOf", () => {
  it("gives one string per name, a list when the name repeats, and keeps empty values", () => {
    expect(inputOf(new URLSearchParams("a=1&b=2&a=3&c=&d=%26%3D"))).toEqual({ a: ["1", "3"], b: "2", c: "", d: "&=" });
    expect(inputOf(new URLSearchParams())).toEqual({});
  });
});
