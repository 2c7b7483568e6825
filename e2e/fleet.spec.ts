import { readFileSync } from "node:fs";
import { expect, SHARED_STORES, storeAnswers, test } from "./fixtures";

/** Resident memory of a process, in MiB, as the kernel counts it. */
function residentMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

for (const storeKind of SHARED_STORES) {
  test.describe(`a fleet sharing ${storeKind}`, () => {
    test.use({ storeKind });

    test("a failing upstream gets one call per key per backoff window from the whole fleet, under bursts", async ({
      launch,
      upstream,
    }) => {
      upstream.script("f", { latencyMs: 200, status: 503 });
      const env = { FRAGMENTS: "f", REDIS_TIMEOUT_MS: "2000" };
      const apps = [await launch(env), await launch(env), await launch(env)];
      const statuses = new Set<number>();
      // The app backs a failing key off for 1 s, then 2 s: bursts for 2.6 s fit in two windows.
      const started = performance.now();
      while (performance.now() - started < 2600) {
        const burst = await Promise.all(
          apps.flatMap((app) => Array.from({ length: 5 }, () => fetch(`${app.url}/fragment/f`))),
        );
        for (const response of burst) {
          statuses.add(response.status);
          await response.body?.cancel();
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect([...statuses]).toEqual([502]);
      expect(upstream.calls("f")).toBeGreaterThanOrEqual(1);
      expect(upstream.calls("f"), "upstream calls by three instances in two backoff windows").toBeLessThanOrEqual(2);
      console.info(`failing upstream on ${storeKind}: ${upstream.calls("f")} calls in 2.6 s from 3 instances`);
    });

    test("an answer under the upstream's cap that is too large to cache as JSON gets one call per backoff window", async ({
      launch,
      upstream,
    }) => {
      // 700 quotes pass the 1000-byte upstream cap, and are 1402 bytes as the JSON the cache would store.
      upstream.script("q", { body: '"'.repeat(700) });
      const env = { FRAGMENTS: "q", CACHE_MAX_VALUE_BYTES: "1000", REDIS_TIMEOUT_MS: "2000" };
      const apps = [await launch(env), await launch(env)];
      // Each instance's client is connected: a lookup on a store that does not answer yet loads alone, with no
      // lease, and then cannot record its failure for the fleet.
      for (const app of apps) await storeAnswers(app);
      const first = await fetch(`${apps[0]!.url}/fragment/q`);
      expect(first.status, "the view that loaded it is served").toBe(200);
      expect(await first.text()).toContain("&quot;".repeat(700));
      // Every later view in the backoff window (1 s) is answered without an upstream call, on both instances.
      for (const app of apps) {
        const views = await Promise.all(Array.from({ length: 5 }, () => fetch(`${app.url}/fragment/q`)));
        for (const view of views) await view.body?.cancel();
        expect(views.map((view) => view.status)).toEqual(Array(5).fill(502));
      }
      expect(upstream.calls("q")).toBe(1);
      await expect.poll(async () => (await fetch(`${apps[1]!.url}/fragment/q`)).status, { timeout: 5000 }).toBe(200);
      expect(upstream.calls("q"), "one more call once the window passed").toBe(2);
    });
  });
}

test("an upstream answer far over the cap is one call, aborted early, and never held in memory", async ({
  launch,
  upstream,
}) => {
  const hugeMiB = 96;
  upstream.script("huge", { body: "x".repeat(hugeMiB * 1024 * 1024) });
  const app = await launch({ FRAGMENTS: "huge,warm-up" });
  // A full lookup first, so the code an upstream call runs is loaded before memory is measured.
  await (await fetch(`${app.url}/fragment/warm-up`)).text();
  const before = residentMiB(app.pid);
  const statuses: number[] = [];
  for (let index = 0; index < 5; index += 1) {
    const response = await fetch(`${app.url}/fragment/huge`);
    statuses.push(response.status);
    await response.text();
  }
  const grew = residentMiB(app.pid) - before;
  expect(statuses).toEqual([502, 502, 502, 502, 502]);
  expect(upstream.calls("huge"), "backed off after the first").toBe(1);
  expect(grew, "resident memory growth, MiB").toBeLessThan(hugeMiB / 3);
  const failure = app.events().find((event) => event.event === "upstream_call" && event.key === "huge");
  expect(failure).toMatchObject({ outcome: "error", error: expect.stringContaining("over 1048576 bytes") });
  console.info(
    `${hugeMiB} MiB upstream answer: ${upstream.calls("huge")} call, app resident memory grew ${grew.toFixed(1)} MiB`,
  );
});
