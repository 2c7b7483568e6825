import { describe, it, expect } from "vitest";
import { readConfig, type Config } from "./config";
import { ConfigError } from "./config-error";

type Env = Record<string, string | undefined>;

/** Runs `readConfig` expecting a ConfigError, and returns it so its message can be checked. */
function configError(env: Env): ConfigError {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`readConfig accepted ${JSON.stringify(env)}`);
}

const DEFAULTS: Config = {
  store: { kind: "memory" },
  upstream: { kind: "simulator", maxMs: 3000 },
  http: { maxBytes: 1024 * 1024, followRedirects: false },
  fragments: undefined,
  cacheFreshSeconds: 60,
  cacheGraceSeconds: 300,
  fragmentDeadlineMs: 4000,
  shellHoldMs: 50,
  idleTimeoutMs: undefined,
  requestTimeoutMs: 10_000,
  upstreamTimeoutMs: 10_000,
  upstreamMaxInFlight: 16,
  upstreamRate: undefined,
  cacheNotFoundSeconds: 60,
  cacheFailSafeSeconds: 86_400,
  cacheEagerRefresh: 0.8,
  redisTimeoutMs: 300,
  redisCoolDownMs: 5000,
  cacheMaxEntries: 10_000,
  cacheMaxBytes: 64 * 1024 * 1024,
  cacheMaxValueBytes: 1024 * 1024,
  cacheLocalTrustSeconds: 5,
  cacheBus: true,
  cacheBusHeartbeatMs: 1000,
  pageCache: { maxBytes: 16 * 1024 * 1024 },
  adminToken: undefined,
  cdnPurge: undefined,
  metricsToken: undefined,
  exportTraces: false,
};

describe("the bus", () => {
  it("is on by default, off by default on Vercel, and either when asked", () => {
    expect(readConfig({}).cacheBus).toBe(true);
    expect(readConfig({ VERCEL: "1" }).cacheBus).toBe(false);
    expect(readConfig({ VERCEL: "1", CACHE_BUS: "on" }).cacheBus).toBe(true);
    expect(readConfig({ CACHE_BUS: "off" }).cacheBus).toBe(false);
  });

  it("refuses anything but on and off, and a heartbeat out of bounds", () => {
    expect(configError({ CACHE_BUS: "yes" }).message).toMatch(/^CACHE_BUS is invalid: must be on or off/);
    expect(configError({ CACHE_BUS_HEARTBEAT_MS: "50" }).message).toMatch(/^CACHE_BUS_HEARTBEAT_MS is invalid/);
  });
});

describe("readConfig defaults", () => {
  it("returns every documented default for an empty environment", () => {
    expect(readConfig({})).toEqual(DEFAULTS);
  });

  it("uses the in-memory store and the 3000 ms simulator when nothing is configured", () => {
    const config = readConfig({});
    expect(config.store).toEqual({ kind: "memory" });
    expect(config.upstream).toEqual({ kind: "simulator", maxMs: 3000 });
  });

  it("ignores unrelated variables such as the rest of process.env", () => {
    expect(readConfig({ PATH: "/usr/bin", HOME: "/root", NODE_ENV: "test" })).toEqual(DEFAULTS);
  });

  it("treats empty and whitespace-only values as unset", () => {
    const blanks: Env = {
      UPSTASH_REDIS_REST_URL: "",
      UPSTASH_REDIS_REST_TOKEN: "   ",
      KV_REST_API_URL: "\t",
      KV_REST_API_TOKEN: "",
      SLOW_API_URL: " ",
      SLOW_API_MAX_MS: "",
      FRAGMENTS: "  ",
      CACHE_FRESH_SECONDS: "",
      CACHE_GRACE_SECONDS: " ",
      FRAGMENT_DEADLINE_MS: "",
      UPSTREAM_TIMEOUT_MS: "",
      UPSTREAM_MAX_IN_FLIGHT: " ",
      REDIS_TIMEOUT_MS: "",
      REDIS_COOLDOWN_MS: "",
      CACHE_MAX_ENTRIES: "",
      CACHE_MAX_BYTES: "",
      CACHE_MAX_VALUE_BYTES: "\n",
    };
    expect(readConfig(blanks)).toEqual(DEFAULTS);
  });

  it("treats undefined values as unset", () => {
    expect(readConfig({ SLOW_API_MAX_MS: undefined, FRAGMENTS: undefined })).toEqual(DEFAULTS);
  });

  it("does not modify the environment object it is given", () => {
    const env: Env = { FRAGMENTS: " x , y ", CACHE_FRESH_SECONDS: "" };
    const copy = { ...env };
    readConfig(env);
    expect(env).toEqual(copy);
  });
});

describe("readConfig numbers", () => {
  it("reads every numeric variable into its field", () => {
    const config = readConfig({
      SLOW_API_MAX_MS: "250",
      CACHE_FRESH_SECONDS: "5",
      CACHE_GRACE_SECONDS: "0",
      FRAGMENT_DEADLINE_MS: "1500",
      SHELL_HOLD_MS: "0",
      IDLE_TIMEOUT_MS: "20000",
      REQUEST_TIMEOUT_MS: "3000",
      UPSTREAM_TIMEOUT_MS: "2500",
      UPSTREAM_MAX_IN_FLIGHT: "4",
      REDIS_TIMEOUT_MS: "50",
      REDIS_COOLDOWN_MS: "0",
      CACHE_MAX_ENTRIES: "7",
      CACHE_MAX_BYTES: "2048",
      CACHE_MAX_VALUE_BYTES: "512",
    });
    expect(config).toEqual({
      ...DEFAULTS,
      upstream: { kind: "simulator", maxMs: 250 },
      http: { maxBytes: 512, followRedirects: false },
      cacheFreshSeconds: 5,
      cacheGraceSeconds: 0,
      fragmentDeadlineMs: 1500,
      shellHoldMs: 0,
      idleTimeoutMs: 20_000,
      requestTimeoutMs: 3000,
      upstreamTimeoutMs: 2500,
      upstreamMaxInFlight: 4,
      redisTimeoutMs: 50,
      redisCoolDownMs: 0,
      cacheMaxEntries: 7,
      cacheMaxBytes: 2048,
      cacheMaxValueBytes: 512,
    });
  });

  it("trims surrounding whitespace and accepts leading zeros", () => {
    const config = readConfig({ CACHE_FRESH_SECONDS: " 90 ", FRAGMENT_DEADLINE_MS: "0100" });
    expect(config.cacheFreshSeconds).toBe(90);
    expect(config.fragmentDeadlineMs).toBe(100);
  });

  it("bounds the loads of one source in flight at once, UPSTREAM_MAX_IN_FLIGHT, to 1-10000, 16 by default", () => {
    expect(readConfig({}).upstreamMaxInFlight).toBe(16);
    expect(readConfig({ UPSTREAM_MAX_IN_FLIGHT: "1" }).upstreamMaxInFlight).toBe(1);
    expect(readConfig({ UPSTREAM_MAX_IN_FLIGHT: "10000" }).upstreamMaxInFlight).toBe(10_000);
    expect(configError({ UPSTREAM_MAX_IN_FLIGHT: "0" }).message).toMatch(/^UPSTREAM_MAX_IN_FLIGHT /);
    expect(configError({ UPSTREAM_MAX_IN_FLIGHT: "10001" }).message).toMatch(/^UPSTREAM_MAX_IN_FLIGHT /);
  });

  it("accepts a simulator delay of 0 ms", () => {
    expect(readConfig({ SLOW_API_MAX_MS: "0" }).upstream).toEqual({ kind: "simulator", maxMs: 0 });
  });

  it("accepts the inclusive upper bounds", () => {
    const config = readConfig({
      SLOW_API_MAX_MS: "600000",
      CACHE_FRESH_SECONDS: "31536000",
      REDIS_TIMEOUT_MS: "60000",
      UPSTREAM_MAX_IN_FLIGHT: "10000",
      CACHE_MAX_ENTRIES: "10000000",
      CACHE_MAX_BYTES: String(2 ** 40),
      CACHE_MAX_VALUE_BYTES: String(512 * 1024 * 1024),
    });
    expect(config.upstream).toEqual({ kind: "simulator", maxMs: 600_000 });
    expect(config.cacheFreshSeconds).toBe(31_536_000);
    expect(config.redisTimeoutMs).toBe(60_000);
    expect(config.upstreamMaxInFlight).toBe(10_000);
    expect(config.cacheMaxEntries).toBe(10_000_000);
    expect(config.cacheMaxBytes).toBe(2 ** 40);
    expect(config.cacheMaxValueBytes).toBe(512 * 1024 * 1024);
  });

  const numericVariables = [
    "SLOW_API_MAX_MS",
    "CACHE_FRESH_SECONDS",
    "CACHE_GRACE_SECONDS",
    "FRAGMENT_DEADLINE_MS",
    "SHELL_HOLD_MS",
    "IDLE_TIMEOUT_MS",
    "REQUEST_TIMEOUT_MS",
    "UPSTREAM_TIMEOUT_MS",
    "UPSTREAM_MAX_IN_FLIGHT",
    "REDIS_TIMEOUT_MS",
    "REDIS_COOLDOWN_MS",
    "CACHE_MAX_ENTRIES",
    "CACHE_MAX_BYTES",
    "CACHE_MAX_VALUE_BYTES",
  ] as const;
  const badNumbers = ["abc", "-1", "1.5", "1e3", "0x10", "12abc", "+5", "Infinity", "1 000", "9".repeat(400)];

  for (const variable of numericVariables) {
    it(`rejects malformed values of ${variable} with a ConfigError naming it`, () => {
      for (const value of badNumbers) {
        const error = configError({ [variable]: value });
        expect(error.message, `${variable}=${value}`).toContain(variable);
        expect(error.name).toBe("ConfigError");
      }
    });
  }

  it.each([
    ["SLOW_API_MAX_MS", "600001"],
    ["CACHE_FRESH_SECONDS", "31536001"],
    ["CACHE_GRACE_SECONDS", "31536001"],
    ["FRAGMENT_DEADLINE_MS", "600001"],
    ["SHELL_HOLD_MS", "1001"],
    ["IDLE_TIMEOUT_MS", "3600001"],
    ["REQUEST_TIMEOUT_MS", "600001"],
    ["UPSTREAM_TIMEOUT_MS", "600001"],
    ["UPSTREAM_MAX_IN_FLIGHT", "10001"],
    ["REDIS_TIMEOUT_MS", "60001"],
    ["REDIS_COOLDOWN_MS", "600001"],
    ["CACHE_MAX_ENTRIES", "10000001"],
    ["CACHE_MAX_BYTES", String(2 ** 40 + 1)],
    ["CACHE_MAX_VALUE_BYTES", String(512 * 1024 * 1024 + 1)],
    ["CACHE_MAX_BYTES", "99999999999999999999999"],
  ])("rejects %s=%s as too big, naming the variable", (variable, value) => {
    expect(configError({ [variable]: value }).message).toContain(variable);
  });

  it.each([
    ["CACHE_FRESH_SECONDS", "0"],
    ["FRAGMENT_DEADLINE_MS", "0"],
    ["IDLE_TIMEOUT_MS", "0"],
    ["REQUEST_TIMEOUT_MS", "0"],
    ["UPSTREAM_TIMEOUT_MS", "0"],
    ["UPSTREAM_MAX_IN_FLIGHT", "0"],
    ["REDIS_TIMEOUT_MS", "0"],
    ["CACHE_MAX_ENTRIES", "0"],
    ["CACHE_MAX_BYTES", "1023"],
    ["CACHE_MAX_VALUE_BYTES", "0"],
  ])("rejects %s=%s as below its minimum, naming the variable", (variable, value) => {
    expect(configError({ [variable]: value }).message).toContain(variable);
  });

  it("names the bad variable even when other variables are valid", () => {
    const error = configError({ CACHE_FRESH_SECONDS: "30", REDIS_TIMEOUT_MS: "fast", FRAGMENTS: "x" });
    expect(error.message).toContain("REDIS_TIMEOUT_MS");
    expect(error.message).not.toContain("CACHE_FRESH_SECONDS");
  });
});

describe("readConfig page cache", () => {
  it("is on by default with 16 MiB, off with PAGE_CACHE=off, and refuses anything else, naming the variable", () => {
    expect(readConfig({ PAGE_CACHE_MAX_BYTES: "1048576" }).pageCache).toEqual({ maxBytes: 1048576 });
    expect(readConfig({ PAGE_CACHE: "off", PAGE_CACHE_MAX_BYTES: "1048576" }).pageCache).toBeUndefined();
    expect(configError({ PAGE_CACHE: "yes" }).message).toMatch(/^PAGE_CACHE is invalid: must be "on" or "off"/);
    expect(configError({ PAGE_CACHE_MAX_BYTES: "12" }).message).toMatch(/^PAGE_CACHE_MAX_BYTES is invalid/);
  });
});

describe("readConfig renamed variables", () => {
  it.each([
    ["CACHE_TTL_SECONDS", "CACHE_FRESH_SECONDS"],
    ["FRAGMENT_TIMEOUT_MS", "FRAGMENT_DEADLINE_MS"],
    ["CACHE_LOCAL_SECONDS", "CACHE_LOCAL_TRUST_SECONDS"],
  ])("stops the server on %s, naming its new name %s", (old, current) => {
    const error = configError({ [old]: "5" });
    expect(error.message).toBe(`${old} is now called ${current}: rename it`);
  });
});

describe("readConfig shared store", () => {
  it("uses Upstash when both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set", () => {
    const config = readConfig({
      UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io",
      UPSTASH_REDIS_REST_TOKEN: "secret-token",
    });
    expect(config.store).toEqual({ kind: "upstash", url: "https://eu1-example.upstash.io", token: "secret-token" });
  });

  it("uses the KV_REST_API_URL / KV_REST_API_TOKEN pair (Vercel KV names)", () => {
    const config = readConfig({ KV_REST_API_URL: "https://kv.example.com", KV_REST_API_TOKEN: "kv-token" });
    expect(config.store).toEqual({ kind: "upstash", url: "https://kv.example.com", token: "kv-token" });
  });

  it("accepts a plain http URL for a local REST bridge", () => {
    const config = readConfig({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079", UPSTASH_REDIS_REST_TOKEN: "t" });
    expect(config.store).toEqual({ kind: "upstash", url: "http://127.0.0.1:8079", token: "t" });
  });

  it("prefers the UPSTASH_* pair when both pairs are complete", () => {
    const config = readConfig({
      UPSTASH_REDIS_REST_URL: "https://upstash.example.com",
      UPSTASH_REDIS_REST_TOKEN: "upstash-token",
      KV_REST_API_URL: "https://kv.example.com",
      KV_REST_API_TOKEN: "kv-token",
    });
    expect(config.store).toEqual({ kind: "upstash", url: "https://upstash.example.com", token: "upstash-token" });
  });

  it("throws naming UPSTASH_REDIS_REST_TOKEN when only the Upstash URL is set", () => {
    const error = configError({ UPSTASH_REDIS_REST_URL: "https://upstash.example.com" });
    expect(error.message).toMatch(/^UPSTASH_REDIS_REST_TOKEN is missing/);
    expect(error.message).toContain("UPSTASH_REDIS_REST_URL");
  });

  it("throws naming UPSTASH_REDIS_REST_URL when only the Upstash token is set", () => {
    const error = configError({ UPSTASH_REDIS_REST_TOKEN: "secret" });
    expect(error.message).toMatch(/^UPSTASH_REDIS_REST_URL is missing/);
  });

  it("throws naming KV_REST_API_TOKEN when only the KV URL is set", () => {
    const error = configError({ KV_REST_API_URL: "https://kv.example.com" });
    expect(error.message).toMatch(/^KV_REST_API_TOKEN is missing/);
    expect(error.message).toContain("KV_REST_API_URL");
  });

  it("throws naming KV_REST_API_URL when only the KV token is set", () => {
    const error = configError({ KV_REST_API_TOKEN: "kv-token" });
    expect(error.message).toMatch(/^KV_REST_API_URL is missing/);
  });

  it("counts a blank token as missing", () => {
    const error = configError({
      UPSTASH_REDIS_REST_URL: "https://upstash.example.com",
      UPSTASH_REDIS_REST_TOKEN: "  ",
    });
    expect(error.message).toMatch(/^UPSTASH_REDIS_REST_TOKEN is missing/);
  });

  it("counts a blank URL as missing", () => {
    const error = configError({ KV_REST_API_URL: "", KV_REST_API_TOKEN: "kv-token" });
    expect(error.message).toMatch(/^KV_REST_API_URL is missing/);
  });

  it("does not fall back to the KV pair when the Upstash pair is half set", () => {
    const error = configError({
      UPSTASH_REDIS_REST_URL: "https://upstash.example.com",
      KV_REST_API_URL: "https://kv.example.com",
      KV_REST_API_TOKEN: "kv-token",
    });
    expect(error.message).toMatch(/^UPSTASH_REDIS_REST_TOKEN is missing/);
  });

  it.each(["not a url", "ftp://upstash.example.com", "redis://127.0.0.1:6379", "upstash.example.com"])(
    "rejects the non-http(s) store URL %j, naming the variable",
    (url) => {
      expect(configError({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: "t" }).message).toContain(
        "UPSTASH_REDIS_REST_URL",
      );
      expect(configError({ KV_REST_API_URL: url, KV_REST_API_TOKEN: "t" }).message).toContain("KV_REST_API_URL");
    },
  );
});

describe("readConfig native Redis", () => {
  it("uses one Redis server over TCP with REDIS_URL, credentials and TLS included", () => {
    expect(readConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).store).toEqual({
      kind: "redis",
      url: "redis://127.0.0.1:6379",
    });
    expect(readConfig({ REDIS_URL: "rediss://user:p%40ss@cache.internal:6380/2" }).store).toEqual({
      kind: "redis",
      url: "rediss://user:p%40ss@cache.internal:6380/2",
    });
  });

  it("uses a Redis Cluster with REDIS_CLUSTER_URLS, a comma-separated list of seed nodes", () => {
    expect(readConfig({ REDIS_CLUSTER_URLS: " redis://10.0.0.1:7000 ,redis://10.0.0.2:7001" }).store).toEqual({
      kind: "redis-cluster",
      urls: ["redis://10.0.0.1:7000", "redis://10.0.0.2:7001"],
    });
  });

  it.each([
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["REDIS_URL", "127.0.0.1:6379"],
    ["REDIS_URL", "redis//oops"],
    ["REDIS_CLUSTER_URLS", "redis://a:7000,,redis://b:7001"],
    ["REDIS_CLUSTER_URLS", "redis://a:7000,b:7001"],
  ])("stops on a malformed %s (%s), naming it and not echoing it", (variable, value) => {
    const message = configError({ [variable]: value }).message;
    expect(message).toBe(`${variable} is invalid: must be a redis:// or rediss:// URL`);
  });

  it.each([
    [
      { REDIS_URL: "redis://a:1", UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" },
      "UPSTASH_REDIS_REST_URL and REDIS_URL",
    ],
    [{ REDIS_URL: "redis://a:1", KV_REST_API_TOKEN: "t" }, "KV_REST_API_TOKEN and REDIS_URL"],
    [{ REDIS_URL: "redis://a:1", REDIS_CLUSTER_URLS: "redis://b:2" }, "REDIS_URL and REDIS_CLUSTER_URLS"],
  ])("refuses two kinds of store at once, naming both", (env, names) => {
    expect(configError(env).message).toBe(`${names} are both set: configure one shared store`);
  });
});

describe("readConfig metrics token", () => {
  it("guards the metrics with a long enough METRICS_TOKEN", () => {
    expect(readConfig({ METRICS_TOKEN: "m".repeat(16) }).metricsToken).toBe("m".repeat(16));
  });

  it("refuses a short METRICS_TOKEN, naming it", () => {
    expect(configError({ METRICS_TOKEN: "short" }).message).toBe(
      "METRICS_TOKEN is invalid: must be at least 16 characters",
    );
  });
});

describe("readConfig trace export", () => {
  it("exports traces when an OTLP endpoint is set, for all signals or for traces alone", () => {
    expect(readConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }).exportTraces).toBe(true);
    expect(readConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example/v1/traces" }).exportTraces).toBe(
      true,
    );
  });

  it("refuses an endpoint that is not an http(s) URL, naming it", () => {
    expect(configError({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }).message).toMatch(
      /^OTEL_EXPORTER_OTLP_ENDPOINT is invalid/,
    );
    expect(configError({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "grpc://collector:4317" }).message).toMatch(
      /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is invalid/,
    );
  });
});

describe("readConfig admin token", () => {
  it("enables purging with a long enough CACHE_ADMIN_TOKEN", () => {
    expect(readConfig({ CACHE_ADMIN_TOKEN: " a-long-enough-secret " }).adminToken).toBe("a-long-enough-secret");
  });

  it("refuses a short CACHE_ADMIN_TOKEN, naming it", () => {
    expect(configError({ CACHE_ADMIN_TOKEN: "short" }).message).toContain("CACHE_ADMIN_TOKEN");
  });
});

describe("readConfig CDN purge", () => {
  it("forwards purges to CDN_PURGE_URL, with CDN_PURGE_TOKEN when one is set", () => {
    expect(readConfig({ CDN_PURGE_URL: "http://127.0.0.1:6081/.purge" }).cdnPurge).toEqual({
      url: "http://127.0.0.1:6081/.purge",
    });
    const env = { CDN_PURGE_URL: "https://api.cdn.example/purge", CDN_PURGE_TOKEN: " secret " };
    expect(readConfig(env).cdnPurge).toEqual({ url: "https://api.cdn.example/purge", token: "secret" });
  });

  it("refuses a CDN_PURGE_URL that is not an http(s) URL, and a token with no URL, naming the variable", () => {
    expect(configError({ CDN_PURGE_URL: "varnish:6081" }).message).toMatch(/^CDN_PURGE_URL is invalid/);
    expect(configError({ CDN_PURGE_TOKEN: "secret" }).message).toBe(
      "CDN_PURGE_URL is missing: it is required when CDN_PURGE_TOKEN is set",
    );
  });
});

/** The HTTP upstream of a template, with the placeholders besides `{query}` it names. */
const http = (urlTemplate: string, params: string[] = []) => ({ kind: "http", urlTemplate, params });

describe("readConfig upstream", () => {
  it("caps the body at CACHE_MAX_VALUE_BYTES unless UPSTREAM_MAX_BYTES says otherwise", () => {
    const url = "http://127.0.0.1:9999/{query}";
    expect(readConfig({ SLOW_API_URL: url, CACHE_MAX_VALUE_BYTES: "5000" }).http).toMatchObject({ maxBytes: 5000 });
    expect(readConfig({ SLOW_API_URL: url, UPSTREAM_MAX_BYTES: "200" }).http).toMatchObject({ maxBytes: 200 });
    expect(configError({ UPSTREAM_MAX_BYTES: "0" }).message).toContain("UPSTREAM_MAX_BYTES");
    expect(configError({ UPSTREAM_MAX_BYTES: "1MB" }).message).toContain("UPSTREAM_MAX_BYTES");
  });

  it("refuses redirects unless UPSTREAM_REDIRECTS=follow", () => {
    const url = "http://127.0.0.1:9999/{query}";
    expect(readConfig({ SLOW_API_URL: url, UPSTREAM_REDIRECTS: "follow" }).http).toMatchObject({
      followRedirects: true,
    });
    expect(readConfig({ SLOW_API_URL: url, UPSTREAM_REDIRECTS: "refuse" }).http).toMatchObject({
      followRedirects: false,
    });
    expect(configError({ UPSTREAM_REDIRECTS: "yes" }).message).toBe(
      'UPSTREAM_REDIRECTS is invalid: must be "refuse" or "follow"',
    );
  });

  it("uses the HTTP upstream when SLOW_API_URL contains {query}", () => {
    const config = readConfig({ SLOW_API_URL: "https://api.example.com/find?q={query}" });
    expect(config.upstream).toEqual(http("https://api.example.com/find?q={query}"));
  });

  it("ignores SLOW_API_MAX_MS when SLOW_API_URL is set", () => {
    const config = readConfig({ SLOW_API_URL: "http://127.0.0.1:9999/{query}", SLOW_API_MAX_MS: "5" });
    expect(config.upstream).toEqual(http("http://127.0.0.1:9999/{query}"));
  });

  it("turns a percent-encoded %7Bquery%7D placeholder back into {query}", () => {
    const config = readConfig({ SLOW_API_URL: "https://api.example.com/find/%7Bquery%7D" });
    expect(config.upstream).toEqual(http("https://api.example.com/find/{query}"));
  });

  it("turns every placeholder back, in either case of percent-encoding", () => {
    const config = readConfig({ SLOW_API_URL: "https://api.example.com/%7bquery%7d/%7Bquery%7D" });
    expect(config.upstream).toEqual(http("https://api.example.com/{query}/{query}"));
  });

  it("makes every other placeholder a parameter, once each, in the order they first appear", () => {
    const url = "https://api.example/{query}?city={city}&day={day_2}&again={city}";
    expect(readConfig({ SLOW_API_URL: url }).upstream).toEqual(http(url, ["city", "day_2"]));
  });

  it("turns percent-encoded placeholders of any name back into placeholders", () => {
    const config = readConfig({ SLOW_API_URL: "https://api.example/%7Bquery%7D?city=%7bcity%7D" });
    expect(config.upstream).toEqual(http("https://api.example/{query}?city={city}", ["city"]));
  });

  it("leaves braces that do not hold a placeholder's name as they are, and makes no parameter of them", () => {
    const url = "https://api.example/{query}?a={}&b={not-a-name}&c={1st}";
    expect(readConfig({ SLOW_API_URL: url }).upstream).toEqual(http(url));
  });

  it("still requires {query} when the template has other placeholders", () => {
    const error = configError({ SLOW_API_URL: "https://api.example/weather?city={city}" });
    expect(error.message).toContain("SLOW_API_URL");
    expect(error.message).toContain("{query}");
  });

  it("rejects a placeholder that only stands in the #fragment, which is never sent", () => {
    expect(configError({ SLOW_API_URL: "https://api.example.com/#{query}" }).message).toContain("SLOW_API_URL");
  });

  it("throws naming SLOW_API_URL when it has no {query} placeholder", () => {
    const error = configError({ SLOW_API_URL: "https://api.example.com/find?q=" });
    expect(error.message).toContain("SLOW_API_URL");
    expect(error.message).toContain("{query}");
  });

  it.each([
    "ftp://api.example.com/{query}",
    "file:///tmp/{query}",
    "javascript://x/{query}",
    "not a url {query}",
    "//api.example.com/{query}",
  ])("throws naming SLOW_API_URL for the non-http(s) URL %j", (url) => {
    expect(configError({ SLOW_API_URL: url }).message).toContain("SLOW_API_URL");
  });
});

describe("readConfig fragments", () => {
  it("leaves the page to the defined sources unless FRAGMENTS or SLOW_API_URL is set", () => {
    expect(readConfig({}).fragments).toBeUndefined();
    expect(readConfig({ SLOW_API_URL: "http://127.0.0.1:9/{query}" }).fragments).toEqual(["a", "b", "c"]);
    expect(readConfig({ FRAGMENTS: "x,y" }).fragments).toEqual(["x", "y"]);
  });

  it("splits FRAGMENTS on commas and trims each name", () => {
    expect(readConfig({ FRAGMENTS: " news , weather,sport " }).fragments).toEqual(["news", "weather", "sport"]);
  });

  it("drops duplicates, keeping first-seen order", () => {
    expect(readConfig({ FRAGMENTS: "b,a,b, a ,c,a" }).fragments).toEqual(["b", "a", "c"]);
  });

  it("skips empty items between commas", () => {
    expect(readConfig({ FRAGMENTS: ",a,,b," }).fragments).toEqual(["a", "b"]);
  });

  it("accepts a single fragment and names made of every allowed character class", () => {
    expect(readConfig({ FRAGMENTS: "only" }).fragments).toEqual(["only"]);
    expect(readConfig({ FRAGMENTS: "Az09_-,x" }).fragments).toEqual(["Az09_-", "x"]);
  });

  it("accepts a 64-character name", () => {
    const name = "n".repeat(64);
    expect(readConfig({ FRAGMENTS: name }).fragments).toEqual([name]);
  });

  it.each([",,", " , , ", ","])("rejects the list %j, which names no fragment", (list) => {
    const error = configError({ FRAGMENTS: list });
    expect(error.message).toContain("FRAGMENTS");
    expect(error.message).toContain("at least one");
  });

  it.each(["a/b", "a,b/c", "../etc", "a b", "x".repeat(65), "a,%2F", "é", "a.b", "<script>"])(
    "rejects the list %j, which holds an invalid name",
    (list) => {
      expect(configError({ FRAGMENTS: list }).message).toContain("FRAGMENTS");
    },
  );
});
