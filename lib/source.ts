import type { ReactNode } from "react";
import { z } from "zod";
import { ConfigError } from "./config-error";
import { FRAGMENT_NAME, FRAGMENT_NAME_RULE, TAG, TAG_RULE } from "./fragment-name";
import type { Json } from "./json";
import type { LoadSettings } from "./cache";
import type { ParamInput, Params, ParamsSchema } from "./params";
import { UpstreamError, UpstreamNotFoundError } from "./upstream";

/** A source definition that cannot work: a bad name or option, or a name defined twice. The message names it. */
export class SourceDefinitionError extends ConfigError {
  override name = "SourceDefinitionError";
}

/** What a source's `load` receives: its parameters as its schema gave them, and the call's abort signal. */
export type LoadCall<P> = {
  /** The parameters of this call: `{}` for a source without `params`. */
  params: P;
  /** Aborts when the call passes its timeout, and its answer would be thrown away: pass it to `fetch`. */
  signal: AbortSignal;
  /**
   * Decides this answer's freshness, or adds tags, from what was loaded (`set({ freshSeconds: 30 })`,
   * `set({ tags: ["author:7"] })`): freshness set here wins over the upstream's headers and the source's own.
   */
  set: (settings: LoadSettings) => void;
};

/** What a source's `controls` receive: its parameters, and the page's own search parameters to build links from. */
export type ControlsProps<P> = { params: P; search: URLSearchParams };

/**
 * One slow source of data, shown on the page as one fragment. Everything about it lives here: what it is
 * asked (its parameters), how its data is loaded and checked, how long it is cached, how long the page waits
 * for it, and how it is rendered.
 */
export type SourceDefinition<Data extends Json, P extends Params = Record<string, never>> = {
  /** The fragment's name: 1–64 characters of `A-Z a-z 0-9 _ -`, unique among the sources. Also its cache key. */
  name: string;
  /**
   * What the source is asked, as a zod object read from the request's search parameters (`?city=porto`) and
   * route segments: each field takes the input of its name, as a string (or a list of strings when the name
   * repeats). Defaults apply; a value the schema refuses makes the part an error that names the parameter,
   * with no upstream call. Each parameter set is its own cache entry. Without it the source has one entry.
   */
  params?: z.ZodType<P, ParamInput> & ParamsSchema;
  /** The heading a visitor reads above it: text, or text made from the parameters (escaped when shown). */
  title: string | ((params: P) => string);
  /**
   * Fetches the data. Stop when `signal` aborts (pass it to `fetch`): the call has passed its timeout, and
   * its answer would be thrown away. A rejection is an upstream failure: logged once, backed off, never cached.
   * Put parameters into a URL encoded (`encodeURIComponent`, or `URLSearchParams`).
   */
  load: (call: LoadCall<P>) => Promise<unknown>;
  /**
   * Checks and reshapes what `load` answered, at the edge: only its output is cached and rendered. An answer
   * that fails it is an upstream failure. Without a schema, `load` must answer `Data` itself.
   */
  schema?: z.ZodType<Data>;
  /** Renders the data (a server component: it may be async, and never ships to the browser). */
  render: (props: { data: Data }) => ReactNode | Promise<ReactNode>;
  /**
   * What a visitor uses to ask something else (a search box, links to other parameters), shown under the
   * heading whatever state the data is in. A server component; a GET form or links work without JavaScript.
   */
  controls?: (props: ControlsProps<P>) => ReactNode;
  /**
   * How long a "not found" is kept: an upstream's 404 (`fetchJson` throws `UpstreamNotFoundError`), or a
   * loader's `notFound()`. The part shows "nothing found", never an error. @default CACHE_NOT_FOUND_SECONDS
   */
  notFoundSeconds?: number;
  /**
   * The share of its freshness after which a value served is refreshed in the background, by one instance of
   * the fleet, so a steadily read key never goes stale and nobody waits for it; `false`: never.
   * @default CACHE_EAGER_REFRESH_PERCENT / 100 (0.8)
   */
  eagerRefresh?: number | false;
  /**
   * How long past its grace the last good value is kept, and shown with its age, while refreshes fail: an
   * outage of the upstream is outlived. 0: past grace the part shows the error. @default CACHE_FAIL_SAFE_SECONDS (a day)
   */
  failSafeSeconds?: number;
  /**
   * Whether the upstream's caching headers decide how long an answer stays fresh: `Cache-Control`
   * (`s-maxage`, `max-age`, `no-cache`, `no-store`), `Expires` and `Age` of what `fetchJson` fetched, within
   * `minFreshSeconds`…`maxFreshSeconds`; `freshSeconds` when they say nothing. `no-store` is served, never
   * cached. `false` ignores them. @default true
   */
  httpCaching?: boolean;
  /** The least freshness the upstream's headers may give. @default 1 */
  minFreshSeconds?: number;
  /** The most freshness the upstream's headers may give. @default 86400 (a day) */
  maxFreshSeconds?: number;
  /** How long its data stays fresh. @default CACHE_FRESH_SECONDS */
  freshSeconds?: number;
  /** How long after that its stale data is still shown while one refresh runs. @default CACHE_GRACE_SECONDS */
  graceSeconds?: number;
  /** How long the page waits for it before showing "still working". @default FRAGMENT_DEADLINE_MS */
  deadlineMs?: number;
  /** Budget of one `load` call; a slower one is aborted and counts as a failure. @default UPSTREAM_TIMEOUT_MS */
  upstreamTimeoutMs?: number;
  /**
   * Most loads of this source under way at once in one instance, over all its parameter sets; past it a part
   * that has nothing cached answers "busy" at once. @default UPSTREAM_MAX_IN_FLIGHT
   */
  maxInFlight?: number;
  /**
   * Most calls to the upstream in any `perSeconds`, counted across the fleet through Redis (on the embedded
   * store, in this process): a load past it does not call, and the part serves its stale value or answers
   * "busy". For an API's quota. @default UPSTREAM_RATE (none)
   */
  rate?: { calls: number; perSeconds: number };
  /**
   * Names a purge can address entries by (1–128 characters of `A-Z a-z 0-9 _ - . : /`): fixed, or made from the parameters, such as
   * `({ id }) => ["product", \`product:${id}\`]`.
   */
  tags?: readonly string[] | ((params: P) => readonly string[]);
  /**
   * Raise it when the shape of `Data` changes: cached data of the old shape is then never read, even from a
   * Redis shared with instances still running the old code. @default 1
   */
  version?: number;
};

/** The settings a source may give itself, each defaulting to the configuration's value when the page is made. */
export type SourceSettings = Readonly<
  Pick<
    SourceDefinition<Json>,
    | "freshSeconds"
    | "graceSeconds"
    | "deadlineMs"
    | "upstreamTimeoutMs"
    | "maxInFlight"
    | "rate"
    | "notFoundSeconds"
    | "eagerRefresh"
    | "failSafeSeconds"
    | "httpCaching"
    | "minFreshSeconds"
    | "maxFreshSeconds"
  >
>;

/** A checked definition, its data and parameter types erased so sources of every type sit in one list. */
export type Source = {
  readonly name: string;
  /** The cache key of a source without parameters; the prefix of every key of one with them. */
  readonly key: string;
  /** Its parameter schema, if it takes parameters. */
  readonly params: ParamsSchema | undefined;
  readonly title: (params: Params) => string;
  /** Its tags for one parameter set; throws a `SourceDefinitionError` when computed tags break the rule. */
  readonly tags: (params: Params) => readonly string[];
  /** Its tags when they are fixed; undefined when they are made from the parameters. */
  readonly fixedTags: readonly string[] | undefined;
  /** Loads and checks the data; rejects with what `load` threw or a `SourceDataError`. */
  readonly loadData: (params: Params, signal: AbortSignal, set: LoadCall<Params>["set"]) => Promise<Json>;
  readonly render: (props: { data: Json }) => ReactNode | Promise<ReactNode>;
  readonly controls: ((props: ControlsProps<Params>) => ReactNode) | undefined;
  readonly settings: SourceSettings;
};

/** A loader's way to say there is nothing for these parameters: cached a short while, shown as "nothing found". */
export function notFound(what = "nothing found"): never {
  throw new UpstreamNotFoundError(what);
}

/** The source answered data its schema refuses: an upstream failure like any other. The message says where. */
export class SourceDataError extends UpstreamError {
  override name = "SourceDataError";
}

const name = z.string().regex(FRAGMENT_NAME, `must be ${FRAGMENT_NAME_RULE}`);
const tag = z.string().regex(TAG, `must be ${TAG_RULE}`);
const uniqueTags = z.array(tag).refine((tags) => new Set(tags).size === tags.length, "must not repeat a tag");
const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === "function", "must be a function");
const seconds = z.number().int().min(0).max(31_536_000);
const milliseconds = z.number().int().min(1).max(600_000);

const definitionSchema = z.strictObject({
  name,
  params: z.custom<ParamsSchema>((value) => value instanceof z.ZodObject, "must be a zod object").optional(),
  title: z.union([z.string().trim().min(1, "must not be empty").max(200), fn]),
  load: fn,
  schema: z.custom<z.ZodType>((value) => value instanceof z.ZodType, "must be a zod schema").optional(),
  render: fn,
  controls: fn.optional(),
  freshSeconds: seconds.min(1).optional(),
  graceSeconds: seconds.optional(),
  notFoundSeconds: seconds.min(1).max(86_400).optional(),
  failSafeSeconds: seconds.optional(),
  httpCaching: z.boolean().optional(),
  minFreshSeconds: seconds.optional(),
  maxFreshSeconds: seconds.min(1).optional(),
  eagerRefresh: z.union([z.literal(false), z.number().gt(0).lt(1)]).optional(),
  deadlineMs: milliseconds.optional(),
  upstreamTimeoutMs: milliseconds.optional(),
  maxInFlight: z.number().int().min(1).max(10_000).optional(),
  rate: z
    .strictObject({ calls: z.number().int().min(1).max(1_000_000), perSeconds: z.number().positive().max(86_400) })
    .optional(),
  tags: z.union([uniqueTags, fn]).optional(),
  version: z.number().int().min(1).max(1_000_000).optional(),
});

/** Checks a definition when the server starts; a bad one throws a `SourceDefinitionError` naming it and the option. */
export function defineSource<Data extends Json, P extends Params = Record<string, never>>(
  definition: SourceDefinition<Data, P>,
): Source {
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const label = typeof definition?.name === "string" ? `"${definition.name}"` : "without a name";
    const option = issue?.path.join(".") || "definition";
    throw new SourceDefinitionError(`Source ${label}: ${option} ${issue?.message ?? "is invalid"}`);
  }
  const { schema, load, render, controls, title, tags = [], version = 1 } = definition;
  // The schema made `P`, so every `Params` handed back to these functions is a `P`.
  const erased = <T>(fn: (params: P) => T) => fn as unknown as (params: Params) => T;
  return {
    name: definition.name,
    key: version === 1 ? definition.name : `${definition.name}@${version}`,
    params: definition.params,
    title: typeof title === "string" ? () => title : erased(title),
    tags: typeof tags === "function" ? computedTags(definition.name, erased(tags)) : () => tags,
    fixedTags: typeof tags === "function" ? undefined : tags,
    loadData: async (params, signal, set) => {
      const answer = await load({ params: params as P, signal, set });
      if (!schema) return answer as Json;
      const checked = schema.safeParse(answer);
      if (checked.success) return checked.data;
      const issue = checked.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "the answer";
      throw new SourceDataError(
        `source "${definition.name}" answered data its schema refuses: ${where}: ${issue?.message ?? "invalid"}`,
      );
    },
    render: render as Source["render"],
    controls: controls as unknown as Source["controls"],
    settings: {
      freshSeconds: definition.freshSeconds,
      graceSeconds: definition.graceSeconds,
      deadlineMs: definition.deadlineMs,
      upstreamTimeoutMs: definition.upstreamTimeoutMs,
      maxInFlight: definition.maxInFlight,
      rate: definition.rate,
      notFoundSeconds: definition.notFoundSeconds,
      eagerRefresh: definition.eagerRefresh,
      failSafeSeconds: definition.failSafeSeconds,
      httpCaching: definition.httpCaching,
      minFreshSeconds: definition.minFreshSeconds,
      maxFreshSeconds: definition.maxFreshSeconds,
    },
  };
}

/** Tags made from parameters, checked on every call: a tag that breaks the rule is the source's mistake. */
function computedTags(source: string, make: (params: Params) => readonly string[]): Source["tags"] {
  return (params) => {
    const made = uniqueTags.safeParse([...new Set(make(params))]);
    if (made.success) return made.data;
    const issue = made.error.issues[0];
    throw new SourceDefinitionError(`Source "${source}": a computed tag ${issue?.message ?? "is invalid"}`);
  };
}

/** The sources in page order; a name defined twice throws a `SourceDefinitionError` naming it. */
export function checkSources(sources: readonly Source[]): readonly Source[] {
  if (sources.length === 0) throw new SourceDefinitionError("No source is defined: the page needs at least one");
  const seen = new Set<string>();
  for (const source of sources) {
    if (seen.has(source.name))
      throw new SourceDefinitionError(`Source "${source.name}" is defined twice: names must be unique`);
    seen.add(source.name);
  }
  return sources;
}
