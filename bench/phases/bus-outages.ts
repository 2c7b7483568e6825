import type { AppServer } from "../../harness/app-server";
import { startRedisTarget } from "../../harness/redis-targets";
import { sleep } from "../../lib/timeout";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { BusStore, ClusterFailover, SubscriptionsKilled } from "../results";
import { busOf, busUp, FleetViewError } from "../scenarios/fleet-views";
import { timePage } from "../scenarios/raw-timing";
import { pageView, startViews, type View } from "../scenarios/visitor";
import { launchApp, log, type Services } from "../run";

const complete = (names: readonly string[]) => (html: string) =>
  names.every((name) => html.includes(`result for ${name}`));

/** Views of `/` that take turns between `apps`, with a desktop Chrome user agent (the page serves crawlers differently). */
function alternating(apps: readonly AppServer[], names: readonly string[]): View {
  const views = apps.map((app) => pageView(`${app.url}/`, complete(names)));
  let next = 0;
  return () => views[next++ % views.length]!();
}

/** `CLIENT KILL TYPE pubsub` on the store's redis-server: the bridge's streams, or the apps' subscriber connections. */
async function killSubscribers(services: Services, store: BusStore): Promise<number> {
  if (store === "rest") return Number(await services.stack.client.call("CLIENT", "KILL", "TYPE", "pubsub"));
  return services.tcp.killSubscribers();
}

/** Polls `/api/health` every 50 ms: whether the bus was seen down, and when it was up again having resumed. */
async function resumption(url: string, killedAt: number): Promise<SubscriptionsKilled["instances"][number]> {
  let sawDown = false;
  while (performance.now() - killedAt < PLAN.fleetBus.resumeCapMs) {
    const bus = await busOf(url);
    if (bus.state !== "up") sawDown = true;
    if (bus.state === "up" && (bus.resumed ?? 0) >= 1) {
      const resumedAfterMs = Math.round(performance.now() - killedAt);
      return { sawDown, resumedAfterMs, ...(bus.lastGapMs !== undefined && { lastGapMs: bus.lastGapMs }) };
    }
    await sleep(50);
  }
  return { sawDown };
}

/**
 * Two instances on `store` (the page's own fragments, cached first) viewed at a steady rate; a while in,
 * every pubsub connection on the store is killed. Every view must still answer 200 with every part, and each
 * instance's bus must come back on its own.
 */
export async function subscriptionsKilled(services: Services, store: BusStore): Promise<SubscriptionsKilled> {
  const { killViewsPerSecond, killSeconds, killAfterMs } = PLAN.fleetBus;
  const apps = await Promise.all([launchApp(services, store), launchApp(services, store)]);
  try {
    await Promise.all(apps.map((app) => busUp(app.url)));
    await Promise.all(apps.map((app) => timePage(`${app.url}/blocking`, FRAGMENT_NAMES)));
    log(
      `fleet bus (${store}): ${killViewsPerSecond} views/s for ${killSeconds} s, pubsub killed after ${killAfterMs} ms`,
    );
    const started = performance.now();
    const views = startViews(alternating(apps, FRAGMENT_NAMES), killViewsPerSecond);
    await sleep(killAfterMs);
    const killedAt = performance.now();
    const killed = await killSubscribers(services, store);
    const instances = await Promise.all(apps.map((app) => resumption(app.url, killedAt)));
    await sleep(started + killSeconds * 1000 - performance.now());
    return { killed, views: await views.stop(), instances };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}

/** The first fragment name `g<n>` whose entry's key hashes to the first master's slots (0–5460). */
async function nameOnFirstMaster(keyslot: (name: string) => Promise<number>): Promise<string> {
  for (let index = 0; ; index += 1) if ((await keyslot(`g${index}`)) <= 5460) return `g${index}`;
}

/**
 * A Cluster of three masters with a replica each; two instances (values fresh for 1 s), each viewed every
 * 100 ms; the master of one fragment's key is SIGKILLed. Until a refresh is stored on its promoted replica
 * (the key's time to live there rises above what it was at the kill: nothing replicates to it any more), and
 * the bus is back on both instances if it went down, capped.
 */
export async function clusterFailover(services: Services): Promise<ClusterFailover> {
  const target = await startRedisTarget("redis-cluster", { replicas: 1 });
  const apps: AppServer[] = [];
  try {
    const [master] = target.cluster!.nodes;
    const [replica] = target.cluster!.replicas;
    const onFirst = await nameOnFirstMaster(async (name) => Number(await target.client.cluster("KEYSLOT", name)));
    const names = [onFirst, "f1", "f2"];
    // The memory store's launch adds no store variables: the Cluster's come with the rest.
    const env = { ...target.appEnv, FRAGMENTS: names.join(","), CACHE_FRESH_SECONDS: "1" };
    apps.push(...(await Promise.all([launchApp(services, "memory", env), launchApp(services, "memory", env)])));
    await Promise.all(apps.map((app) => busUp(app.url)));
    const entry = `workerless:v4:find:{${onFirst}}`;
    await Promise.all(apps.map((app) => timePage(`${app.url}/blocking`, names)));
    for (const giveUpAt = performance.now() + 10_000; (await replica!.pttl(entry)) <= 0; await sleep(50)) {
      if (performance.now() > giveUpAt) throw new FleetViewError(`the replica never held ${entry}`);
    }
    log("fleet bus: Cluster failover, the first master killed");
    const leftBefore = await replica!.pttl(entry);
    // Each instance every 100 ms, on schedule whatever the previous views are waiting on.
    const views = startViews(alternating(apps, names), 10 * apps.length);
    const killedAt = performance.now();
    await master!.kill();
    // While the cluster is down the replica answers CLUSTERDOWN even to a read: not yet.
    const pttl = () => replica!.pttl(entry).catch(() => -2);
    const leftAtKill = Math.max(leftBefore, await pttl());
    let cachedAgainMs: number | undefined;
    let busBackMs: number | undefined;
    let busDownSeen = false;
    while (performance.now() - killedAt < PLAN.fleetBus.failoverCapMs) {
      const states = await Promise.all(apps.map(async (app) => (await busOf(app.url)).state));
      const sinceKill = Math.round(performance.now() - killedAt);
      if (states.some((state) => state !== "up")) busDownSeen = true;
      else if (busDownSeen) busBackMs ??= sinceKill;
      if (cachedAgainMs === undefined && (await pttl()) > leftAtKill) cachedAgainMs = sinceKill;
      if (cachedAgainMs !== undefined && (!busDownSeen || busBackMs !== undefined)) break;
      await sleep(100);
    }
    return {
      views: await views.stop(),
      busDownSeen,
      ...(cachedAgainMs !== undefined && { cachedAgainMs }),
      ...(busBackMs !== undefined && { busBackMs }),
    };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await target.stop();
  }
}
