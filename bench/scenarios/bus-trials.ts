import type { AppServer } from "../../harness/app-server";
import type { ScriptedUpstream } from "../../harness/upstream-server";
import { sleep } from "../../lib/timeout";
import { FleetViewError, purgeOn, viewFragment, viewShowing, viewUntil, type FragmentView } from "./fleet-views";

/** How long a warm-up view may take to show what the bench scripted: past that, the run is broken. */
const WARM_CAP_MS = 7000;

/**
 * Waits of one trial, ms after the change: until the first view that showed it was sent, and until its answer
 * was read; undefined where the cap came first.
 */
export type TrialLags = Array<{ sentMs: number; readMs: number } | undefined>;

const lagsSince = (since: number, seen: ReadonlyArray<FragmentView | undefined>): TrialLags =>
  seen.map((view) => view && { sentMs: view.sentAt - since, readMs: view.readAt - since });

export type TrialLimits = { capMs: number; pauseMs?: number };

/**
 * Purge on the first instance → each other instance's next view: `name` is warmed with a body of this trial's
 * own on every instance, then purged on the first. Each other instance is viewed back to back until a view no
 * longer shows that body from its own copy (origin not "hit", or another body), from the purge's answer. A
 * second purge leaves nothing cached for the next trial.
 */
export async function purgeTrial(
  upstream: ScriptedUpstream,
  [purger, ...others]: readonly AppServer[],
  name: string,
  tag: string,
  { capMs, pauseMs }: TrialLimits,
): Promise<TrialLags> {
  const before = `[${tag}, before the purge]`;
  upstream.script(name, { body: before });
  for (const app of [purger!, ...others]) await viewShowing(app.url, name, before, WARM_CAP_MS);
  upstream.script(name, { body: `[${tag}, after the purge]` });
  const purgedAt = await purgeOn(purger!.url, { fragment: name });
  const gone = (view: { origin: string | undefined; html: string }) =>
    view.origin !== "hit" || !view.html.includes(before);
  const seen = await Promise.all(
    others.map((app) => viewUntil(app.url, name, gone, { since: purgedAt, capMs, pauseMs })),
  );
  await purgeOn(purger!.url, { fragment: name });
  return lagsSince(purgedAt, seen);
}

/** Every instance shows a value of `name`, fresh: the state each refresh trial starts from. */
export async function warmEverywhere(
  upstream: ScriptedUpstream,
  apps: readonly AppServer[],
  name: string,
  tag: string,
): Promise<void> {
  const body = `[${tag}]`;
  upstream.script(name, { body });
  await purgeOn(apps[0]!.url, { fragment: name });
  for (const app of apps) await viewShowing(app.url, name, body, WARM_CAP_MS);
}

/**
 * A refresh filled by the first instance → visible on the others: a soft purge there makes its copy stale,
 * its views (the first shows the stale value and starts the refresh) go on until one shows the new body.
 * From when that answer arrived, each other instance is viewed until it shows the new body too.
 */
export async function refreshTrial(
  upstream: ScriptedUpstream,
  [refresher, ...others]: readonly AppServer[],
  name: string,
  tag: string,
  { capMs }: TrialLimits,
): Promise<TrialLags> {
  const fresh = `[${tag}, refreshed]`;
  // Scripted before the purge, so no refresh can start and fetch the previous body.
  upstream.script(name, { body: fresh });
  await purgeOn(refresher!.url, { fragment: name, soft: true });
  const shown = await viewShowing(refresher!.url, name, fresh, WARM_CAP_MS);
  const seen = await Promise.all(
    others.map((app) => viewUntil(app.url, name, (view) => view.html.includes(fresh), { since: shown.readAt, capMs })),
  );
  return lagsSince(shown.readAt, seen);
}

/** One lookup that waited on another instance's load: how long after the loader's answer its own arrived. */
export type WaiterLag = { lagMs: number; waited: boolean };

/**
 * `names` (cold, each scripted with a slow upstream) at once: each is asked of the first instance, and
 * `delayMs` later of the second, which finds the first one's lease and waits on its load. The lag is
 * (second's answer read) − (first's answer read); `waited` when the second said its value came from another
 * instance's load (origin "shared").
 */
export async function waiterTrials(
  [loader, waiter]: readonly AppServer[],
  names: readonly string[],
  delayMs: number,
): Promise<WaiterLag[]> {
  return Promise.all(
    names.map(async (name) => {
      const loaded = viewFragment(loader!.url, name);
      await sleep(delayMs);
      const [first, second] = await Promise.all([loaded, viewFragment(waiter!.url, name)]);
      for (const view of [first, second]) {
        if (view.status !== 200 || !view.html.includes(`result for ${name}`))
          throw new FleetViewError(`/fragment/${name} answered ${view.status}: ${view.html.slice(0, 200)}`);
      }
      return { lagMs: second.readAt - first.readAt, waited: second.origin === "shared" };
    }),
  );
}
