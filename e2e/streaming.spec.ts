import { timeChunks } from "../test-support/chunk-timer";
import { expect, STORES, test } from "./fixtures";

// Listed out of completion order, so arrival order can only come from streaming.
const LATENCIES: Record<string, number> = { s3: 1800, s1: 600, s2: 1200 };

for (const storeKind of STORES) {
  test.describe(`the raw response on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("carries the shell at once and each fragment after its own latency", async ({ launch, upstream }, testInfo) => {
      for (const [name, latencyMs] of Object.entries(LATENCIES)) upstream.script(name, { latencyMs });
      const app = await launch({ FRAGMENTS: Object.keys(LATENCIES).join(",") });

      const response = await timeChunks(`${app.url}/`);
      expect(response.status).toBe(200);
      const shell = response.arrival('data-fragment="s3"');
      expect(shell, "the shell").toBeDefined();
      expect(response.arrival('aria-label="Loading fragment s1"'), "every spinner is in the shell").toBe(shell);
      expect(shell!).toBeLessThan(Math.min(...Object.values(LATENCIES)) / 2);

      const ordered = Object.entries(LATENCIES).sort(([, a], [, b]) => a - b);
      const arrivals: Record<string, number | undefined> = { shell };
      for (const [index, [name, latencyMs]] of ordered.entries()) {
        const arrived = response.arrival(`result for ${name}`);
        arrivals[name] = arrived;
        expect(arrived, `${name} arrives`).toBeDefined();
        expect(arrived!, `${name} not before its latency`).toBeGreaterThanOrEqual(latencyMs - 5);
        const slower = ordered[index + 1];
        if (slower) expect(arrived!, `${name} before ${slower[0]} could be ready`).toBeLessThan(slower[1]);
      }
      const timing = `${storeKind} store: arrivals ${JSON.stringify(arrivals)} ms; upstream latencies ${JSON.stringify(LATENCIES)}`;
      testInfo.annotations.push({ type: "arrivals", description: timing });
      console.info(timing);
    });
  });
}
