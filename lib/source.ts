import type { ReactNode } from "react";
import { z } from "zod";
import { ConfigError } from "./config-error";
import { FRAGMENT_NAME, FRAGMENT_NAME_RULE } from "./fragment-name";
import type { Json } from "./json";
import { UpstreamError } from "./upstream";

/** A source definition that cannot work: a bad name or option, or a name defined twice. The message names it. */
export class SourceDefinitionError extends ConfigError {
  override name = "SourceDefinitionError";
}

/**
 * One slow source of data, shown on the page as one fragment. Everything about it lives here: how its data
 * is loaded and checked, how long it is cached, how long the page waits for it, and how it is rendered.
 */
export type SourceDefinition<Data extends Json> = {
  /** The fragment's name: 1–64 characters of `A-Z a-z 0-9 _ -`, unique among the sources. Also its cache key. */
  name: string;
  /** The heading a visitor reads above it. */
  title: string;
  /**
   * Fetches the data. Stop when `signal` aborts (pass it to `fetch`): the call has passed its timeout, and
   * its answer would be thrown away. A rejection is an upstream failure: logged once, backed off, never cached.
   */
  load: (signal: AbortSignal) => Promise<unknown>;
  /**
   * Checks and reshapes what `load` answered, at the edge: only its output is cached and rendered. An answer
   * that fails it is an upstream failure. Without a schema, `load` must answer `Data` itself.
   */
  schema?: z.ZodType<Data>;
  /** Renders the data (a server component: it may be async, and never ships to the browser). */
  render: (props: { data: Data }) => ReactNode | Promise<ReactNode>;
  /** How long its data stays fresh. @default CACHE_FRESH_SECONDS */
  freshSeconds?: number;
  /** How long after that its stale data is still shown while one refresh runs. @default CACHE_GRACE_SECONDS */
  graceSeconds?: number;
  /** How long the page waits for it before showing "still working". @default FRAGMENT_DEADLINE_MS */
  deadlineMs?: number;
  /** Budget of one `load` call; a slower one is aborted and counts as a failure. @default UPSTREAM_TIMEOUT_MS */
  upstreamTimeoutMs?: number;
  /** Names a purge can address a group of sources by (same characters as a name). */
  tags?: readonly string[];
  /**
   * Raise it when the shape of `Data` changes: cached data of the old shape is then never read, even from a
   * Redis shared with instances still running the old code. @default 1
   */
  version?: number;
};

/** The settings a source may give itself, each defaulting to the configuration's value when the page is made. */
export type SourceSettings = Readonly<
  Pick<SourceDefinition<Json>, "freshSeconds" | "graceSeconds" | "deadlineMs" | "upstreamTimeoutMs">
>;

/** A checked definition, its data type erased so sources of every type sit in one list. */
export type Source = {
  readonly name: string;
  readonly title: string;
  readonly tags: readonly string[];
  /** The cache key: the name, and the version when it is not the first. */
  readonly key: string;
  /** Loads and checks the data; rejects with what `load` threw or a `SourceDataError`. */
  readonly loadData: (signal: AbortSignal) => Promise<Json>;
  readonly render: (props: { data: Json }) => ReactNode | Promise<ReactNode>;
  readonly settings: SourceSettings;
};

/** The source answered data its schema refuses: an upstream failure like any other. The message says where. */
export class SourceDataError extends UpstreamError {
  override name = "SourceDataError";
}

const name = z.string().regex(FRAGMENT_NAME, `must be ${FRAGMENT_NAME_RULE}`);
const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === "function", "must be a function");
const seconds = z.number().int().min(0).max(31_536_000);
const milliseconds = z.number().int().min(1).max(600_000);

const definitionSchema = z.strictObject({
  name,
  title: z.string().trim().min(1, "must not be empty").max(200),
  load: fn,
  schema: z.custom<z.ZodType>((value) => value instanceof z.ZodType, "must be a zod schema").optional(),
  render: fn,
  freshSeconds: seconds.min(1).optional(),
  graceSeconds: seconds.optional(),
  deadlineMs: milliseconds.optional(),
  upstreamTimeoutMs: milliseconds.optional(),
  tags: z
    .array(name)
    .refine((tags) => new Set(tags).size === tags.length, "must not repeat a tag")
    .optional(),
  version: z.number().int().min(1).max(1_000_000).optional(),
});

/** Checks a definition when the server starts; a bad one throws a `SourceDefinitionError` naming it and the option. */
export function defineSource<Data extends Json>(definition: SourceDefinition<Data>): Source {
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const label = typeof definition?.name === "string" ? `"${definition.name}"` : "without a name";
    const option = issue?.path.join(".") || "definition";
    throw new SourceDefinitionError(`Source ${label}: ${option} ${issue?.message ?? "is invalid"}`);
  }
  const { schema, load, render, version = 1 } = definition;
  return {
    name: definition.name,
    title: definition.title,
    tags: definition.tags ?? [],
    key: version === 1 ? definition.name : `${definition.name}@${version}`,
    loadData: async (signal) => {
      const answer = await load(signal);
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
    settings: {
      freshSeconds: definition.freshSeconds,
      graceSeconds: definition.graceSeconds,
      deadlineMs: definition.deadlineMs,
      upstreamTimeoutMs: definition.upstreamTimeoutMs,
    },
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
