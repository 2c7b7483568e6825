/** Median of several runs with their spread; every figure in the report is one of these. */
export type Spread = { median: number; min: number; max: number; runs: number };

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error("no runs to summarise");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!), runs: sorted.length };
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Median and 90th percentile (nearest rank: of 5 runs, the slowest) of a few runs. */
export type Tail = { median: number; p90: number; runs: number };

export function tail(values: number[]): Tail {
  const { median, runs } = spread(values);
  const sorted = [...values].sort((a, b) => a - b);
  return { median, p90: round(sorted[Math.ceil(0.9 * sorted.length) - 1]!), runs };
}

/** Latency percentiles of a set of timings (nearest rank), ms. */
export type Percentiles = { count: number; p50: number; p95: number; p99: number; max: number };

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (share: number) => round(sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]!);
  return { count: sorted.length, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: round(sorted.at(-1)!) };
}
