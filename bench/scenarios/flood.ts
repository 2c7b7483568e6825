import autocannon from "autocannon";
import { round } from "../summary";

/** A source's flood of distinct valid parameter values, as its client saw it. */
export type FloodResult = {
  /** Requests answered or failed, each with a parameter value never asked before. */
  keys: number;
  /** The path asked, `[<id>]` standing for each request's own value. */
  path: string;
  connections: number;
  seconds: number;
  keysPerSecond: number;
  /** Answers by status: the part (200), "busy" (503, its source had its most loads under way), any other. */
  statuses: { ok: number; busy: number; other: Record<string, number> };
  /** Network errors, timeouts and 5xx answers other than "busy". */
  errors: number;
};

/**
 * Asks `url` for `keys` distinct values of one parameter of one fragment, `connections` requests at a time,
 * each answered request followed at once by the next: `path` holds `[<id>]`, which autocannon replaces with
 * a value unique to each request (its connection's random prefix and a counter). The client runs in a
 * thread of its own, so it does not hold up the upstream and the visitor timed in this process.
 */
export async function flood(url: string, path: string, keys: number, connections: number): Promise<FloodResult> {
  const started = performance.now();
  const result = await autocannon({
    url,
    connections,
    amount: keys,
    timeout: 30,
    idReplacement: true,
    requests: [{ method: "GET", path }],
    workers: 1,
  });
  const seconds = (performance.now() - started) / 1000;
  const byStatus = Object.entries(result.statusCodeStats ?? {}).map(
    ([code, stats]) => [code, stats.count ?? 0] as const,
  );
  const count = (code: string) => byStatus.find(([status]) => status === code)?.[1] ?? 0;
  const other = Object.fromEntries(byStatus.filter(([code]) => code !== "200" && code !== "503"));
  const serverErrors = byStatus
    .filter(([code]) => code.startsWith("5") && code !== "503")
    .reduce((sum, [, answers]) => sum + answers, 0);
  return {
    keys: result.requests.total,
    path,
    connections,
    seconds: round(seconds),
    keysPerSecond: round(result.requests.total / seconds, 0),
    statuses: { ok: count("200"), busy: count("503"), other },
    errors: result.errors + result.timeouts + serverErrors,
  };
}
