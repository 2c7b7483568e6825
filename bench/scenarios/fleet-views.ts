import { sleep } from "../../lib/timeout";

/** The purge route's bearer token on every instance of the fleet-bus phase. */
export const ADMIN_TOKEN = "bench-fleet-admin-token-0123456789";

/** An instance's bus, as its health detail reports it (open: the bench sets no METRICS_TOKEN). */
export type BusHealth = {
  state: "up" | "down" | "connecting" | "off";
  events?: number;
  resumed?: number;
  lastGapMs?: number;
};

/** An instance's bus did not come up in time; the message names its last state. */
export class BusNotUpError extends Error {
  override name = "BusNotUpError";
}

/** A view or a purge the bench relies on was answered with something else; the message says what. */
export class FleetViewError extends Error {
  override name = "FleetViewError";
}

export async function busOf(url: string): Promise<BusHealth> {
  const health = (await (await fetch(`${url}/api/health`)).json()) as { bus?: BusHealth };
  if (!health.bus) throw new FleetViewError(`${url}/api/health has no bus detail: is METRICS_TOKEN set?`);
  return health.bus;
}

/** Polls `/api/health` every 50 ms until the bus is up. */
export async function busUp(url: string, timeoutMs = 15_000): Promise<void> {
  const giveUpAt = performance.now() + timeoutMs;
  for (;;) {
    const { state } = await busOf(url);
    if (state === "up") return;
    if (performance.now() > giveUpAt) throw new BusNotUpError(`${url}: the bus is ${state} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** One view of `/fragment/<name>`: what it showed, and when it was sent and read whole (`performance.now()`). */
export type FragmentView = { status: number; html: string; origin: string | undefined; sentAt: number; readAt: number };

/** Plain fetch: `/fragment` serves crawlers and people alike (only `/` asks `isbot`). */
export async function viewFragment(url: string, name: string): Promise<FragmentView> {
  const sentAt = performance.now();
  const response = await fetch(`${url}/fragment/${name}`);
  const html = await response.text();
  const origin = /data-origin="(\w+)"/.exec(html)?.[1];
  return { status: response.status, html, origin, sentAt, readAt: performance.now() };
}

/**
 * Views `name` on `url` back to back (with `pauseMs` between views) until one satisfies `done`: that view, or
 * undefined when none did within `capMs` of `since`.
 */
export async function viewUntil(
  url: string,
  name: string,
  done: (view: FragmentView) => boolean,
  { since, capMs, pauseMs = 0 }: { since: number; capMs: number; pauseMs?: number | undefined },
): Promise<FragmentView | undefined> {
  for (;;) {
    const view = await viewFragment(url, name);
    if (view.status === 200 && done(view)) return view;
    if (view.readAt - since > capMs) return undefined;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/** Like `viewUntil`, for a view the bench needs (a warm-up): a view that never comes is an error. */
export async function viewShowing(url: string, name: string, text: string, capMs: number): Promise<FragmentView> {
  const view = await viewUntil(url, name, (seen) => seen.html.includes(text), { since: performance.now(), capMs });
  if (!view) throw new FleetViewError(`${url}/fragment/${name} did not show "${text}" within ${capMs} ms`);
  return view;
}

/** POSTs a purge to `url`'s `/api/cache/purge`; resolves when its 200 answer arrived (`performance.now()`). */
export async function purgeOn(url: string, body: { fragment: string; soft?: true }): Promise<number> {
  const response = await fetch(`${url}/api/cache/purge`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new FleetViewError(`the purge answered ${response.status}: ${text}`);
  return performance.now();
}
