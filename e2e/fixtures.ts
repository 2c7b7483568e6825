import { test as base } from "@playwright/test";
import { startApp, type AppOptions, type AppServer } from "../test-support/app-server";
import { startRedisStack, type RedisStack } from "../test-support/redis-stack";
import { startScriptedUpstream, type ScriptedUpstream } from "../test-support/upstream-server";

export type StoreKind = "memory" | "upstash";

type Fixtures = {
  /** Which store the launched apps use; set with `test.use({ storeKind })`. */
  storeKind: StoreKind;
  upstream: ScriptedUpstream;
  /** A real redis-server behind the Upstash-protocol bridge, when `storeKind` is "upstash". */
  redisStack: RedisStack | undefined;
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
  launch: async ({ upstream, redisStack }, provide, testInfo) => {
    const apps: AppServer[] = [];
    await provide(async (env = {}, options = {}) => {
      const app = await startApp({ ...options, env: { SLOW_API_URL: upstream.urlTemplate, ...redisStack?.env, ...env } });
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

export { expect } from "@playwright/test";
