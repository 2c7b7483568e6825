import "server-only";
import { z } from "zod";
import { ConfigError } from "./config-error";
import { FRAGMENT_NAME_RULE, isFragmentName } from "./fragment-name";

export type StoreConfig =
  | { kind: "memory" }
  | { kind: "upstash"; url: string; token: string }
  | { kind: "redis"; url: string }
  | { kind: "redis-cluster"; urls: string[] };

/** Where text fragments come from: the simulator (also the demo sources' latency cap), or one URL template. */
export type UpstreamConfig =
  | { kind: "simulator"; maxMs: number }
  | {
      kind: "http";
      urlTemplate: string;
      /** The template's placeholders besides `{query}`: each a required parameter of every text fragment. */
      params: readonly string[];
    };

/** A placeholder in SLOW_API_URL: `{query}`, or any other name, which becomes a parameter. */
export const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]{0,31})\}/g;

/** How every HTTP call to an upstream is bounded (text fragments and `fetchJson` alike). */
export type HttpLimits = {
  /** Largest body read; past it the call is aborted and counts as a failure. @default CACHE_MAX_VALUE_BYTES */
  maxBytes: number;
  /** Whether a 3xx answer is followed; refused (a failure) unless configured. @default false */
  followRedirects: boolean;
};

const integer = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(min).max(max));

const redisUrl = z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" });

const envSchema = z.object({
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().trim().min(1).optional(),
  KV_REST_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  KV_REST_API_TOKEN: z.string().trim().min(1).optional(),
  REDIS_URL: redisUrl.optional(),
  REDIS_CLUSTER_URLS: z
    .string()
    .transform((list) => list.split(",").map((url) => url.trim()))
    .pipe(z.array(redisUrl).min(1))
    .optional(),
  SLOW_API_URL: z
    .url({ protocol: /^https?$/ })
    // A URL parser may have percent-encoded the braces of the placeholders.
    .transform((url) => url.replace(/%7B([A-Za-z_][A-Za-z0-9_]{0,31})%7D/gi, "{$1}"))
    .refine((url) => url.split("#")[0]!.includes("{query}"), "must contain {query} (before any #)")
    .optional(),
  SLOW_API_MAX_MS: integer(0, 600_000).default(3000),
  UPSTREAM_MAX_BYTES: integer(1, 512 * 1024 * 1024).optional(),
  UPSTREAM_REDIRECTS: z.enum(["refuse", "follow"], { error: 'must be "refuse" or "follow"' }).default("refuse"),
  FRAGMENTS: z
    .string()
    .transform((list) => [
      ...new Set(
        list
          .split(",")
          .map((name) => name.trim())
          .filter(Boolean),
      ),
    ])
    .refine((names) => names.length > 0, "must name at least one fragment")
    .refine((names) => names.every(isFragmentName), `names must be ${FRAGMENT_NAME_RULE}`)
    .optional(),
  CACHE_FRESH_SECONDS: integer(1, 31_536_000).default(60),
  CACHE_GRACE_SECONDS: integer(0, 31_536_000).default(300),
  CACHE_NOT_FOUND_SECONDS: integer(1, 86_400).default(60),
  CACHE_FAIL_SAFE_SECONDS: integer(0, 31_536_000).default(86_400),
  CACHE_EAGER_REFRESH_PERCENT: integer(0, 99).default(80),
  FRAGMENT_DEADLINE_MS: integer(1, 600_000).default(4000),
  SHELL_HOLD_MS: integer(0, 1000).default(50),
  IDLE_TIMEOUT_MS: integer(1, 3_600_000).optional(),
  REQUEST_TIMEOUT_MS: integer(1, 600_000).default(10_000),
  UPSTREAM_TIMEOUT_MS: integer(1, 600_000).default(10_000),
  UPSTREAM_MAX_IN_FLIGHT: integer(1, 10_000).default(16),
  UPSTREAM_RATE: z
    .string()
    .trim()
    .regex(/^\d{1,6}\/\d{1,6}[smh]$/, "must be <calls>/<time> such as 10/1s, 100/1m or 1000/1h")
    .transform((text) => {
      const [, calls, amount, unit] = /^(\d+)\/(\d+)([smh])$/.exec(text)!;
      const unitMs = { s: 1000, m: 60_000, h: 3_600_000 }[unit as "s" | "m" | "h"];
      return { calls: Number(calls), perMs: Number(amount) * unitMs };
    })
    .refine(({ calls, perMs }) => calls >= 1 && perMs >= 1, "must allow at least one call in a time above 0")
    .optional(),
  REDIS_TIMEOUT_MS: integer(1, 60_000).default(300),
  REDIS_COOLDOWN_MS: integer(0, 600_000).default(5000),
  CACHE_MAX_ENTRIES: integer(1, 10_000_000).default(10_000),
  CACHE_MAX_BYTES: integer(1024, 2 ** 40).default(64 * 1024 * 1024),
  CACHE_MAX_VALUE_BYTES: integer(1, 512 * 1024 * 1024).default(1024 * 1024),
  CACHE_LOCAL_TRUST_SECONDS: integer(0, 3600).default(5),
  CACHE_BUS: z.enum(["on", "off"], "must be on or off").optional(),
  CACHE_BUS_HEARTBEAT_MS: integer(100, 60_000).default(1000),
  // Set by Vercel on its functions, where no long-lived connection outlives a request.
  VERCEL: z.string().optional(),
  PAGE_CACHE: z.enum(["on", "off"], { error: 'must be "on" or "off"' }).default("on"),
  PAGE_CACHE_MAX_BYTES: integer(1024, 2 ** 40).default(16 * 1024 * 1024),
  CACHE_ADMIN_TOKEN: z.string().trim().min(16, "must be at least 16 characters").optional(),
  METRICS_TOKEN: z.string().trim().min(16, "must be at least 16 characters").optional(),
  CDN_PURGE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CDN_PURGE_TOKEN: z.string().trim().min(1).optional(),
  // Checked here because the exporter, given a URL it cannot parse, falls back to localhost without a word.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
});

type Env = Record<string, string | undefined>;

/** Empty strings count as unset, so `FOO= npm start` means the default. */
function withoutBlanks(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
}

const STORE_VARIABLES = [
  ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_URL", "KV_REST_API_TOKEN"],
  ["REDIS_URL"],
  ["REDIS_CLUSTER_URLS"],
] as const;

function pickStore(env: z.infer<typeof envSchema>): StoreConfig {
  const kinds = STORE_VARIABLES.map((names) => names.find((name) => env[name] !== undefined)).filter(
    (name) => name !== undefined,
  );
  if (kinds.length > 1) {
    throw new ConfigError(`${kinds.join(" and ")} are both set: configure one shared store`);
  }
  if (env.REDIS_URL) return { kind: "redis", url: env.REDIS_URL };
  if (env.REDIS_CLUSTER_URLS) return { kind: "redis-cluster", urls: env.REDIS_CLUSTER_URLS };
  const pairs = [
    {
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      names: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    },
    { url: env.KV_REST_API_URL, token: env.KV_REST_API_TOKEN, names: ["KV_REST_API_URL", "KV_REST_API_TOKEN"] },
  ] as const;
  for (const { url, token, names } of pairs) {
    if (url && token) return { kind: "upstash", url, token };
    if (url && !token) throw new ConfigError(`${names[1]} is missing: it is required when ${names[0]} is set`);
    if (token && !url) throw new ConfigError(`${names[0]} is missing: it is required when ${names[1]} is set`);
  }
  return { kind: "memory" };
}

function upstreamOf(env: z.infer<typeof envSchema>): UpstreamConfig {
  if (!env.SLOW_API_URL) return { kind: "simulator", maxMs: env.SLOW_API_MAX_MS };
  // A placeholder after `#` is never sent, so it asks for no parameter.
  const names = [...env.SLOW_API_URL.split("#")[0]!.matchAll(PLACEHOLDER)].map((match) => match[1]!);
  return {
    kind: "http",
    urlTemplate: env.SLOW_API_URL,
    params: [...new Set(names)].filter((name) => name !== "query"),
  };
}

/** Where a purge is forwarded so a CDN drops its copies too, and the bearer token it takes (if any). */
export type CdnPurgeConfig = { url: string; token?: string };

function cdnPurgeOf(env: z.infer<typeof envSchema>): CdnPurgeConfig | undefined {
  if (env.CDN_PURGE_TOKEN && !env.CDN_PURGE_URL)
    throw new ConfigError("CDN_PURGE_URL is missing: it is required when CDN_PURGE_TOKEN is set");
  if (!env.CDN_PURGE_URL) return undefined;
  return env.CDN_PURGE_TOKEN ? { url: env.CDN_PURGE_URL, token: env.CDN_PURGE_TOKEN } : { url: env.CDN_PURGE_URL };
}

/**
 * The environment as the app uses it: every setting, validated, with its default. The type of the
 * configuration is derived from this, so a setting is written once, here and in the schema above.
 */
const configSchema = envSchema.transform((env) => ({
  store: pickStore(env),
  upstream: upstreamOf(env),
  http: {
    maxBytes: env.UPSTREAM_MAX_BYTES ?? env.CACHE_MAX_VALUE_BYTES,
    followRedirects: env.UPSTREAM_REDIRECTS === "follow",
  } satisfies HttpLimits,
  /**
   * Text fragments, one per name, each the answer of the upstream (SLOW_API_URL, or the simulator) for its
   * name; they replace the sources defined in `sources/`. Set by FRAGMENTS, or `["a", "b", "c"]` when only
   * SLOW_API_URL is set; undefined: the page shows the defined sources.
   */
  fragments: env.FRAGMENTS ?? (env.SLOW_API_URL ? ["a", "b", "c"] : undefined),
  /** How long a cached result is fresh, unless its source says otherwise. */
  cacheFreshSeconds: env.CACHE_FRESH_SECONDS,
  /** How long after that a stale result is still served while one refresh runs. */
  cacheGraceSeconds: env.CACHE_GRACE_SECONDS,
  /** How long an upstream's "not found" (404) is kept, unless its source says otherwise. */
  cacheNotFoundSeconds: env.CACHE_NOT_FOUND_SECONDS,
  /** How long past grace the last good value is kept and served while refreshes fail, unless its source says otherwise. */
  cacheFailSafeSeconds: env.CACHE_FAIL_SAFE_SECONDS,
  /** Share of its freshness after which a value served is refreshed in the background, unless its source says otherwise; 0: never. */
  cacheEagerRefresh: env.CACHE_EAGER_REFRESH_PERCENT / 100,
  /** When a fragment stops holding the stream open and shows "still working". */
  fragmentDeadlineMs: env.FRAGMENT_DEADLINE_MS,
  /**
   * How long the page may hold its shell for lookups a cache is answering (not loading), so cached parts
   * arrive in the shell instead of behind spinners that vanish a moment later.
   */
  shellHoldMs: env.SHELL_HOLD_MS,
  /**
   * A connection on which no byte moves either way for this long is closed (a client that stops reading the
   * page, or sending its request); undefined: the longest fragment deadline plus 10 s (see server-limits.ts).
   */
  idleTimeoutMs: env.IDLE_TIMEOUT_MS,
  /** The time a client has to send a whole request, headers and body. */
  requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
  /** Budget for one upstream call; a slower call is abandoned and counts as a failure. */
  upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
  /**
   * Most loads of one source under way at once in one instance, unless the source says otherwise: past it, a
   * part with nothing cached answers "busy" at once, so a flood of distinct parameters cannot pile calls up.
   */
  upstreamMaxInFlight: env.UPSTREAM_MAX_IN_FLIGHT,
  /** Most calls one source makes to its upstream in a time, across the fleet, unless it says otherwise; none: no limit. */
  upstreamRate: env.UPSTREAM_RATE,
  /** Budget for one Redis round trip; a slower call is a miss. */
  redisTimeoutMs: env.REDIS_TIMEOUT_MS,
  /** How long Redis is skipped after repeated failures before one probe. */
  redisCoolDownMs: env.REDIS_COOLDOWN_MS,
  /** Bounds of the in-process tier. */
  cacheMaxEntries: env.CACHE_MAX_ENTRIES,
  cacheMaxBytes: env.CACHE_MAX_BYTES,
  /** Results whose JSON is larger than this are served to their load's callers but not cached; the key backs off. */
  cacheMaxValueBytes: env.CACHE_MAX_VALUE_BYTES,
  /** With Redis: how long an instance trusts its in-process copy before checking it again; 0 checks it on every lookup. */
  cacheLocalTrustSeconds: env.CACHE_LOCAL_TRUST_SECONDS,
  /**
   * With Redis: whether this instance subscribes to the fleet's bus (purges and fills heard within
   * milliseconds), with the heartbeat that checks it. Off by default on Vercel, whose functions keep no
   * connection open between requests: the trust window alone bounds what they miss.
   */
  cacheBus: (env.CACHE_BUS ?? (env.VERCEL === undefined ? "on" : "off")) === "on",
  cacheBusHeartbeatMs: env.CACHE_BUS_HEARTBEAT_MS,
  /**
   * The rendered-page cache (lib/page-cache): a page whose every part is fresh in this process is served from
   * the HTML rendered for those same versions, with a fresh nonce; undefined when off.
   */
  pageCache: env.PAGE_CACHE === "on" ? { maxBytes: env.PAGE_CACHE_MAX_BYTES } : undefined,
  /** Bearer token for `POST /api/cache/purge`; unset disables the route. */
  adminToken: env.CACHE_ADMIN_TOKEN,
  /** Where a purge of the cache is forwarded, so a CDN drops its copies too; undefined: no CDN is told. */
  cdnPurge: cdnPurgeOf(env),
  /** Bearer token `GET /api/metrics` requires; unset leaves the metrics open. */
  metricsToken: env.METRICS_TOKEN,
  /**
   * Whether spans are exported over OTLP/HTTP: an endpoint is set. The exporter reads these and the other
   * OTEL_* variables itself.
   */
  exportTraces: env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined,
}));

export type Config = z.output<typeof configSchema>;

/** Variables that were renamed: one name per idea, from the environment to the code. Set, they stop the server. */
const RENAMED: Readonly<Record<string, string>> = {
  CACHE_TTL_SECONDS: "CACHE_FRESH_SECONDS",
  FRAGMENT_TIMEOUT_MS: "FRAGMENT_DEADLINE_MS",
  CACHE_LOCAL_SECONDS: "CACHE_LOCAL_TRUST_SECONDS",
};

/** Reads and validates configuration from an environment; throws ConfigError naming the bad variable. */
export function readConfig(rawEnv: Env): Config {
  const env = withoutBlanks(rawEnv);
  const renamed = Object.keys(RENAMED).find((name) => env[name] !== undefined);
  if (renamed) throw new ConfigError(`${renamed} is now called ${RENAMED[renamed]}: rename it`);
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? "environment");
    throw new ConfigError(`${variable} is invalid: ${issue?.message ?? "bad value"}`);
  }
  return parsed.data;
}

let current: Config | undefined;

/** The process's configuration, read once. */
export function getConfig(): Config {
  current ??= readConfig(process.env);
  return current;
}
