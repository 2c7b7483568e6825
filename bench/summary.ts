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
