import { expect, test } from "./fixtures";

const BAD: Array<{ env: Record<string, string>; message: string }> = [
  { env: { REDIS_URL: "http://127.0.0.1:6379" }, message: "REDIS_URL is invalid: must be a redis:// or rediss:// URL" },
  { env: { REDIS_CLUSTER_URLS: "redis://127.0.0.1:7000,127.0.0.1:7001" }, message: "REDIS_CLUSTER_URLS is invalid" },
  {
    env: {
      REDIS_URL: "redis://127.0.0.1:6379",
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
      UPSTASH_REDIS_REST_TOKEN: "t",
    },
    message: "UPSTASH_REDIS_REST_URL and REDIS_URL are both set",
  },
  { env: { CACHE_ADMIN_TOKEN: "too-short" }, message: "CACHE_ADMIN_TOKEN is invalid: must be at least 16 characters" },
  { env: { METRICS_TOKEN: "too-short" }, message: "METRICS_TOKEN is invalid: must be at least 16 characters" },
  { env: { CACHE_FRESH_SECONDS: "ten" }, message: "CACHE_FRESH_SECONDS is invalid: must be a whole number" },
  // A streamed page may send nothing until its fragment deadline (FRAGMENT_DEADLINE_MS, 4000 ms by default).
  {
    env: { IDLE_TIMEOUT_MS: "4000" },
    message: 'IDLE_TIMEOUT_MS is invalid: must be longer than the deadline of fragment "a" (4000 ms)',
  },
];

for (const standalone of [false, true]) {
  test.describe(standalone ? "the standalone server" : "next start", () => {
    for (const { env, message } of BAD) {
      test(`stops at start, naming the variable: ${Object.keys(env).join(" + ")}`, async ({ launch }) => {
        const started = performance.now();
        const error = await launch(env, { standalone }).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(String(error)).toContain("exited during start");
        expect(String(error)).toContain(message);
        // The URL itself, which may carry a password, is not echoed.
        expect(String(error)).not.toContain('127.0.0.1:6379"');
        expect(performance.now() - started).toBeLessThan(15_000);
      });
    }
  });
}
