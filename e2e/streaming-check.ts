import type { AppServer } from "../harness/app-server";
import type { TimedResponse } from "../harness/chunk-timer";
import type { ScriptedUpstream } from "../harness/upstream-server";
import { expect, purgeCache } from "./fixtures";

// Listed out of completion order, so arrival order can only come from streaming.
export const LATENCIES: Record<string, number> = { d3: 1800, d1: 600, d2: 1200 };
export const FRAGMENTS = Object.keys(LATENCIES).join(",");
export const ADMIN_TOKEN = "streaming-test-admin-token-0123456789";

/**
 * Renders the page once with instant answers and purges what that cached, so the timed request measures
 * streaming rather than the first load of the route's code on a busy machine.
 */
export async function warm(app: AppServer, upstream: ScriptedUpstream) {
  expect((await fetch(`${app.url}/`).then((response) => response.text())).length).toBeGreaterThan(0);
  expect((await purgeCache(app, { all: true }, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  for (const [name, latencyMs] of Object.entries(LATENCIES)) upstream.script(name, { latencyMs });
}

/** The shell first, then each fragment after its own latency and before a slower one could be ready. */
export function expectStreamed(response: TimedResponse, label: string) {
  expect(response.status).toBe(200);
  const shell = response.arrival('data-fragment="d3"');
  expect(shell, `${label}: the shell`).toBeDefined();
  const fastest = Math.min(...Object.values(LATENCIES));
  expect(shell!, `${label}: the shell leaves well before the fastest fragment`).toBeLessThan(fastest / 2);
  // With the shell, though not always in its chunk: nginx's gzip flushes each piece of the shell the app wrote
  // as it reads it, and two writes a moment apart arrived as two chunks 1 ms apart.
  expect(response.arrival('aria-label="Loading Fragment d1"'), `${label}: every spinner is in the shell`).toBeLessThan(
    fastest / 2,
  );
  const ordered = Object.entries(LATENCIES).sort(([, a], [, b]) => a - b);
  const arrivals: Record<string, number | undefined> = { shell };
  for (const [index, [name, latencyMs]] of ordered.entries()) {
    const arrived = response.arrival(`result for ${name}`);
    arrivals[name] = arrived;
    expect(arrived, `${label}: ${name} arrives`).toBeDefined();
    expect(arrived!, `${label}: ${name} not before its latency`).toBeGreaterThanOrEqual(latencyMs - 5);
    const slower = ordered[index + 1];
    if (slower) expect(arrived!, `${label}: ${name} before ${slower[0]} could be ready`).toBeLessThan(slower[1]);
  }
  return arrivals;
}
