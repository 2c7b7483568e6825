import { timeChunks } from "../harness/chunk-timer";
import { expect, STORES, test } from "./fixtures";
import { ADMIN_TOKEN, expectStreamed, FRAGMENTS, LATENCIES, warm } from "./streaming-check";

for (const storeKind of STORES) {
  test.describe(`the raw response on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("carries the shell at once and each fragment after its own latency", async ({
      launch,
      upstream,
    }, testInfo) => {
      const app = await launch({ FRAGMENTS, CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
      await warm(app, upstream);

      const response = await timeChunks(`${app.url}/`);
      const arrivals = expectStreamed(response, storeKind);
      const timing = `${storeKind} store: arrivals ${JSON.stringify(arrivals)} ms; upstream latencies ${JSON.stringify(LATENCIES)}`;
      testInfo.annotations.push({ type: "arrivals", description: timing });
      console.info(timing);
      expect(upstream.calls(), "one warm-up and one timed call per fragment").toBe(6);
    });
  });
}
