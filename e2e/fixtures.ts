import { expect, test as base } from "@playwright/test";
import { startApp, type AppOptions, type AppServer } from "../harness/app-server";
import { startRedisStack, type RedisStack } from "../harness/redis-stack";
import { startRedisTarget, type RedisTarget } from "../harness/redis-targets";
import { startScriptedUpstream, type ScriptedUpstream } from "../harness/upstream-server";

export type StoreKind = "memory" | "upstash" | "redis" | "redis-cluster";

type SharedRedis = Pick<RedisTarget, "keys" | "client" | "outage">;

type Fixtures = {
  /** Which store the launched apps use; set with `test.use({ storeKind })`. */
  storeKind: StoreKind;
  upstream: ScriptedUpstream;
  /** A real redis-server behind the Upstash-protocol bridge, when `storeKind` is "upstash". */
  redisStack: RedisStack | undefined;
  /** A real redis-server, or a real three-master Redis Cluster, that apps reach over TCP ("redis", "redis-cluster"). */
  nativeRedis: RedisTarget | undefined;
  /** Whichever Redis the apps use, seen directly: keys on every node, a client, an outage. */
  sharedRedis: SharedRedis | undefined;
  /** Starts the production app against this test's upstream (and Redis); stopped after the test. */
  launch: (env?: Record<string, string>, options?: Omit<AppOptions, "env">) => Promise<AppServer>;
};

export const test = base.extend<Fixtures>({
  storeKind: ["memory", { option: true }],
  upstream: async ({}, provide) => {
    const upstream = await startScriptedUpstream();
    await provide(upstream);
    await upstream.close();
  },
  redisStack: async ({ storeKind }, provide) => {
    const stack = storeKind === "upstash" ? await startRedisStack({ separateProcess: true }) : undefined;
    await provide(stack);
    await stack?.stop();
  },
  nativeRedis: async ({ storeKind }, provide) => {
    const backend =
      storeKind === "redis" || storeKind === "redis-cluster" ? await startRedisTarget(storeKind) : undefined;
    await provide(backend);
    await backend?.stop();
  },
  sharedRedis: async ({ redisStack, nativeRedis }, provide) => {
    const stack = redisStack && {
      keys: (pattern: string) => redisStack.client.keys(pattern),
      client: redisStack.client,
      outage: () => redisStack.redis.stop(),
    };
    await provide(stack ?? nativeRedis);
  },
  launch: async ({ upstream, redisStack, nativeRedis }, provide, testInfo) => {
    const apps: AppServer[] = [];
    await provide(async (env = {}, options = {}) => {
      const storeEnv = redisStack?.env ?? nativeRedis?.appEnv;
      const app = await startApp({ ...options, env: { SLOW_API_URL: upstream.urlTemplate, ...storeEnv, ...env } });
      apps.push(app);
      return app;
    });
    await Promise.all(apps.map((app) => app.stop("SIGKILL")));
    if (testInfo.status !== testInfo.expectedStatus) {
      for (const [index, app] of apps.entries()) await testInfo.attach(`app-${index}.log`, { body: app.output() });
    }
  },
});

export const STORES: StoreKind[] = ["memory", "upstash"];

/** Where a value came from, as the first `data-origin` of `html` tells it. */
export const originOf = (html: string) => /data-origin="(\w+)"/.exec(html)?.[1];

/** One fragment at `/fragment/<name>` as an HTML snippet: its status, its HTML and where its value came from. */
export async function fetchFragment(app: { url: string }, name: string) {
  const response = await fetch(`${app.url}/fragment/${name}`);
  const html = await response.text();
  return { status: response.status, html, origin: originOf(html) };
}

/** POSTs a purge to `app`: `body` is sent as it is when a string, as JSON otherwise; no header without `authorization`. */
export function purgeCache(app: { url: string }, body: unknown, authorization?: string) {
  return fetch(`${app.url}/api/cache/purge`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/**
 * Waits until `app`'s shared store answers it (`/api/health/ready`). An instance is up before its Redis client
 * has made its first round trip, which on a busy machine can take longer than REDIS_TIMEOUT_MS: a test that
 * counts round trips, errors or leases from the first request on must start from an instance whose store answers.
 */
export async function storeAnswers(app: { url: string }): Promise<void> {
  await expect
    .poll(async () => (await fetch(`${app.url}/api/health/ready`)).status, { message: "the shared store answers" })
    .toBe(200);
}

/** Waits until a value cached for 1 s (`CACHE_FRESH_SECONDS=1`) has gone stale: real time is the point. */
export const pastOneSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

/** Every kind of shared store: the cross-instance behaviour must hold on each. */
export const SHARED_STORES: StoreKind[] = ["upstash", "redis", "redis-cluster"];

export { expect } from "@playwright/test";
