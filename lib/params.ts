import { createHash } from "node:crypto";
import type { z } from "zod";
import type { Json } from "./json";

/**
 * What a request offers the sources, by name: its search parameters and route segments as they came (a
 * string, or a list when a name repeats), or a purge body's JSON values. Each source takes what its schema
 * names and ignores the rest.
 */
export type ParamInput = Readonly<Record<string, unknown>>;

/** A source's parameters as its schema gave them: defaults applied, values checked and reshaped. */
export type Params = Readonly<Record<string, Json>>;

/** A source's parameter schema: a zod object, so it names the inputs it reads. */
export type ParamsSchema = z.ZodObject;

/** A request's parameters the source's schema refuses; the message names the parameter and the rule. */
export class ParamsError extends Error {
  override name = "ParamsError";
  constructor(
    /** The parameter refused, or undefined when the refusal is about the whole set. */
    readonly param: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A checked set of parameters, with the input that gave them (what a retry or a link sends again). */
export type ParsedParams = { params: Params; input: Readonly<Record<string, string | string[]>> };

/** The search parameters of a URL as input: one string per name, or a list when the name repeats. */
export function inputOf(search: URLSearchParams): ParamInput {
  const input: Record<string, string | string[]> = {};
  for (const name of new Set(search.keys())) {
    const values = search.getAll(name);
    input[name] = values.length === 1 ? values[0]! : values;
  }
  return input;
}

/** The text form of an input value kept for a retry or a link: strings as they are, other JSON as JSON. */
function asText(value: unknown): string | string[] {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  return JSON.stringify(value) ?? "";
}

/**
 * Parses what `schema` names out of `input`. Refuses, with a `ParamsError` naming the parameter, what the
 * schema refuses, and any text that is not well-formed Unicode (it has no encoding to key a cache by).
 */
export function parseParams(schema: ParamsSchema, input: ParamInput): ParsedParams | ParamsError {
  const picked: Record<string, unknown> = {};
  const kept: Record<string, string | string[]> = {};
  for (const name of Object.keys(schema.shape)) {
    if (!Object.hasOwn(input, name) || input[name] === undefined) continue;
    picked[name] = input[name];
    kept[name] = asText(input[name]);
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = typeof issue?.path[0] === "string" ? issue.path[0] : undefined;
    const rule = issue?.message ?? "is invalid";
    return new ParamsError(param, param === undefined ? rule : `${param}: ${rule}`);
  }
  const ill = illFormedField(parsed.data);
  if (ill !== undefined) return new ParamsError(ill, `${ill}: must be well-formed text`);
  return { params: parsed.data as Params, input: kept };
}

/** The first field holding text that is not well-formed UTF-16 (a lone surrogate), if any. */
function illFormedField(params: Record<string, unknown>): string | undefined {
  const ill = (value: unknown): boolean =>
    typeof value === "string"
      ? !value.isWellFormed()
      : Array.isArray(value)
        ? value.some(ill)
        : typeof value === "object" && value !== null
          ? Object.entries(value).some(([name, item]) => ill(name) || ill(item))
          : false;
  return Object.entries(params).find(([name, value]) => ill(name) || ill(value))?.[0];
}

/** A parameter schema's output that JSON cannot carry as it is: a mistake in the source's schema. */
export class ParamsShapeError extends TypeError {
  override name = "ParamsShapeError";
}

/** Keys longer than this are cut to a readable prefix and a digest of the whole. */
export const KEY_MAX_CHARS = 200;
const KEY_PREFIX_CHARS = 150;

/**
 * `encodeURIComponent`, also escaping `! ' ( ) * ~`: the result holds only letters, digits, `- _ .` and
 * `%XX`, so `~` (which marks a value that is not a string) and `#` (which marks a digest) never occur in it.
 */
function encodeText(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** JSON with every object's fields sorted: one text per value, whatever order its fields were built in. */
function canonicalJson(value: unknown, where: string): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ParamsShapeError(`${where} is ${value}, which JSON cannot carry`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value.map((item, index) => canonicalJson(item, `${where}[${index}]`)).join(",")}]`;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const fields = Object.keys(value)
      .filter((name) => (value as Record<string, unknown>)[name] !== undefined)
      .sort();
    const body = fields.map(
      (name) =>
        `${JSON.stringify(name)}:${canonicalJson((value as Record<string, unknown>)[name], `${where}.${name}`)}`,
    );
    return `{${body.join(",")}}`;
  }
  throw new ParamsShapeError(`${where} is ${typeof value === "object" ? "an object JSON cannot carry" : typeof value}`);
}

/**
 * The cache key of one parameter set of a source: `<base>?<field>=<value>&…`, fields sorted, absent ones left
 * out. A string value is its URL encoding (`encodeText`); any other value is `~` and its canonical JSON,
 * encoded the same way, so `1` and `"1"`, `["x"]` and `"x"` differ, and no `&` or `=` inside a value can
 * pass for a separator. A key over `KEY_MAX_CHARS` keeps its first characters, readable, then `#` and the
 * SHA-256 of the whole key. Only `A-Z a-z 0-9 - _ . % ? & = ~ # @` occur, never `{` or `}`, so the key
 * stays whole inside a Redis Cluster hash tag.
 */
export function paramsKey(base: string, params: Params): string {
  const fields = Object.keys(params)
    .filter((name) => params[name] !== undefined)
    .sort();
  const query = fields.map((name) => {
    const value = params[name];
    const encoded = typeof value === "string" ? encodeText(value) : `~${encodeText(canonicalJson(value, name))}`;
    return `${encodeText(name)}=${encoded}`;
  });
  const key = `${base}?${query.join("&")}`;
  if (key.length <= KEY_MAX_CHARS) return key;
  const digest = createHash("sha256").update(key).digest("base64url");
  return `${key.slice(0, KEY_PREFIX_CHARS)}#${digest}`;
}
