import autocannon from "autocannon";
import { rssMiB } from "../proc";
import { round } from "../summary";

export type FloodResult = { keys: number; seconds: number; errors: number; rssBeforeMiB: number; rssAfterMiB: number; rssPeakMiB: number };

const SAMPLE_EVERY_MS = 500;

/** Asks one instance for `keys` distinct, never-seen fragments and samples its resident memory meanwhile. */
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
    return {
      keys: result.requests.total,
      seconds: round((performance.now() - started) / 1000),
      errors: result.errors + result.timeouts + result.non2xx,
      rssBeforeMiB: round(rssBeforeMiB),
      rssAfterMiB: round(rssAfterMiB),
      rssPeakMiB: round(Math.max(peak, rssAfterMiB)),
    };
  } finally {
    clearInterval(sampler);
  }
}
