import { readFileSync } from "node:fs";
import { expect, SHARED_STORES, test } from "./fixtures";

/** Resident memory of a process, in MiB, as the kernel counts it. */
function residentMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

for (const storeKind of SHARED_STORES) {
  test.describe(`a fleet sharing ${storeKind}`, () => {
    test.use({ storeKind });

    test("a failing upstream gets one call per key per backoff window from the whole fleet, under bursts", async ({ launch, upstream }) => {
      upstream.script("f", { latencyMs: 200, status: 503 });
      const env = { FRAGMENTS: "f", REDIS_TIMEOUT_MS: "2000" };
      const apps = [await launch(env), await launch(env), await launch(env)];
      const statuses = new Set<number>();
      // The app backs a failing key off for 1 s, then 2 s: bursts for 2.6 s fit in two windows.
      const started = performance.now();
      while (performance.now() - started < 2600) {
        const burst = await Promise.all(apps.flatMap((app) => Array.from({ length: 5 }, () => fetch(`${app.url}/fragment/f`))));
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
  });
}

test("an upstream answer far over the cap is one call, aborted early, and never held in memory", async ({ launch, upstream }) => {
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
  console.info(`${hugeMiB} MiB upstream answer: ${upstream.calls("huge")} call, app resident memory grew ${grew.toFixed(1)} MiB`);
});
