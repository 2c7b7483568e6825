import autocannon from "autocannon";
import { rssMiB } from "../proc";
import { round } from "../summary";

export type FloodResult = {
  keys: number;
  /** Answered with a fragment (2xx), and refused as a name the app does not define (404). */
  served: number;
  refused: number;
  seconds: number;
  /** Failures other than a refusal: socket errors, timeouts, other statuses. */
  errors: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssPeakMiB: number;
};

const SAMPLE_EVERY_MS = 500;

/**
 * Asks one instance for `keys` distinct, never-seen fragments and samples its resident memory meanwhile. The
 * app serves only the fragments it defines, so it refuses these names before its cache or the upstream is
 * touched: the flood shows what a flood of distinct URLs costs an instance, not how its cache evicts.
 */
export async function flood(url: string, pid: number, keys: number): Promise<FloodResult> {
  const rssBeforeMiB = rssMiB(pid);
  let peak = rssBeforeMiB;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), SAMPLE_EVERY_MS);
  let next = 0;
  const started = performance.now();
  try {
    const result = await autocannon({
      url,
      connections: 20,
      amount: keys,
      timeout: 30,
      requests: [{ setupRequest: (request) => ({ ...request, path: `/fragment/flood-${next++}` }) }],
    });
    const rssAfterMiB = rssMiB(pid);
    const refused = result.statusCodeStats?.["404"]?.count ?? 0;
    return {
      keys: result.requests.total,
      served: result["2xx"],
      refused,
      seconds: round((performance.now() - started) / 1000),
      errors: result.errors + result.timeouts + result.non2xx - refused,
      rssBeforeMiB: round(rssBeforeMiB),
      rssAfterMiB: round(rssAfterMiB),
      rssPeakMiB: round(Math.max(peak, rssAfterMiB)),
    };
  } finally {
    clearInterval(sampler);
  }
}
