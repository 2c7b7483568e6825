import type { Page } from "@playwright/test";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../harness/otlp-receiver";
import { expect, test as base } from "./fixtures";

/** A local OTLP/HTTP receiver on a free port, started for each test. */
const test = base.extend<{ receiver: OtlpReceiver }>({
  receiver: async ({}, provide) => {
    const receiver = await startOtlpReceiver();
    await provide(receiver);
    await receiver.close();
  },
});

// Upstash, so that lookups make Redis round trips (over REST, through the bridge to a real redis-server).
test.use({ storeKind: "upstash" });

/** OTEL_BSP_SCHEDULE_DELAY of the apps under test: how long a span may wait in the batch before it is sent. */
const EXPORT_DELAY_MS = 250;
/** How long a test waits for spans to reach the receiver: the batch delay, plus the export on a busy machine. */
const RECEIVE_WITHIN_MS = EXPORT_DELAY_MS + 5000;

const region = (page: Page, name: string) => page.getByRole("region", { name: `Fragment ${name}` });

const lookups = (spans: ReceivedSpan[], fragment: string) =>
  spans.filter((span) => span.name === "workerless.lookup" && span.attributes["workerless.fragment"] === fragment);

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
  spans.filter((span) => span.traceId === parent.traceId && span.parentSpanId === parent.spanId);

/** Each lookup of `fragment` so far: its outcome, store, status and the names of its child spans. */
function lookupTrees(spans: ReceivedSpan[], fragment: string) {
  return lookups(spans, fragment).map((lookup) => ({
    outcome: lookup.attributes["workerless.cache.outcome"],
    store: lookup.attributes["workerless.store"],
    statusCode: lookup.statusCode,
    children: childrenOf(spans, lookup)
      .map((child) => child.name)
      .sort(),
  }));
}

/** The one lookup span of `fragment`. */
function lookup(spans: ReceivedSpan[], fragment: string): ReceivedSpan {
  const found = lookups(spans, fragment);
  expect(found, `one lookup of ${fragment}`).toHaveLength(1);
  return found[0]!;
}

/** The one child of `parent` named `name`. */
function child(spans: ReceivedSpan[], parent: ReceivedSpan, name: string): ReceivedSpan {
  const found = childrenOf(spans, parent).filter((span) => span.name === name);
  expect(found, `one ${name} under ${parent.name} ${String(parent.attributes["workerless.fragment"])}`).toHaveLength(1);
  return found[0]!;
}

/**
 * A receiver on 4318, where an OTLP/HTTP exporter sends when it is given no endpoint, so no other port will do.
 * Another suite on the machine may hold it for a few seconds (the same test): wait for it. Still taken after
 * that, it is a local collector: skipped on a developer's machine, a failure on CI, where a skip would hide it.
 */
async function receiverOnDefaultPort(): Promise<OtlpReceiver> {
  const giveUpAt = performance.now() + 20_000;
  for (;;) {
    try {
      return await startOtlpReceiver(4318);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
      if (performance.now() > giveUpAt) {
        test.skip(!process.env.CI, "port 4318 is in use here (a local collector?)");
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

test.describe("traces", () => {
  test("a page view exports a span per fragment lookup, with the upstream call and the Redis round trips under it", async ({
    page,
    launch,
    upstream,
    receiver,
  }) => {
    upstream.script("t1", { latencyMs: 100 });
    upstream.script("t2", { latencyMs: 300 });
    upstream.script("t3", { status: 500 });
    const app = await launch({
      FRAGMENTS: "t1,t2,t3",
      // The reload below trusts its in-process copy however slow the machine, so it makes no round trip.
      CACHE_LOCAL_TRUST_SECONDS: "600",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_DELAY_MS),
      OTEL_SERVICE_NAME: "workerless-e2e",
    });

    await page.goto(app.url);
    await expect(region(page, "t2")).toContainText("result for t2");
    await expect(region(page, "t3").getByRole("alert")).toBeVisible();

    // Cold: each lookup claims the key in Redis and asks its source's gate (one round trip), calls the upstream,
    // then stores the value (or the failure).
    const miss = {
      outcome: "miss",
      store: "upstash",
      statusCode: 0,
      children: ["workerless.store.claim", "workerless.store.fill", "workerless.store.gate", "workerless.upstream"],
    };
    const failed = {
      outcome: "error",
      store: "upstash",
      statusCode: 2,
      children: ["workerless.store.claim", "workerless.store.fail", "workerless.store.gate", "workerless.upstream"],
    };
    await expect
      .poll(() => ["t1", "t2", "t3"].map((fragment) => lookupTrees(receiver.spans(), fragment)), {
        timeout: RECEIVE_WITHIN_MS,
      })
      .toEqual([[miss], [miss], [failed]]);

    const spans = receiver.spans();
    const [t1, t2, t3] = [lookup(spans, "t1"), lookup(spans, "t2"), lookup(spans, "t3")];
    // One page view, one trace: Next's own request span is there too, and the lookups sit under its rendering.
    expect(new Set([t1.traceId, t2.traceId, t3.traceId]).size).toBe(1);
    expect(spans.filter((span) => span.traceId === t1.traceId && span.name === "GET /")).toHaveLength(1);
    expect(spans.find((span) => span.spanId === t1.parentSpanId)?.name).toBe("render route (app) /");
    expect(t1.service).toBe("workerless-e2e");

    expect(child(spans, t1, "workerless.upstream").attributes).toEqual({
      "workerless.fragment": "t1",
      "workerless.upstream.outcome": "ok",
      "workerless.upstream.bytes": JSON.stringify("result for t1").length,
    });
    for (const op of ["claim", "fill"]) {
      expect(child(spans, t1, `workerless.store.${op}`).attributes).toEqual({
        "db.system.name": "redis",
        "db.operation.name": op,
        "workerless.store": "upstash",
      });
    }

    const failedCall = child(spans, t3, "workerless.upstream");
    expect(failedCall).toMatchObject({ statusCode: 2, events: ["exception"] });
    expect(failedCall.attributes).toMatchObject({
      "workerless.upstream.outcome": "error",
      "error.type": "UpstreamError",
    });
    expect(t3).toMatchObject({ events: ["exception"], attributes: { "error.type": "UpstreamError" } });

    // Warm: served from the in-process tier, with no upstream call and no round trip.
    await page.reload();
    await expect(region(page, "t1")).toContainText("result for t1");
    await expect
      .poll(() => lookupTrees(receiver.spans(), "t1").at(1), { timeout: RECEIVE_WITHIN_MS })
      .toEqual({ outcome: "hit", store: "upstash", statusCode: 0, children: [] });
  });

  test("spans still waiting in the batch at SIGTERM are sent before the process exits", async ({
    launch,
    upstream,
    receiver,
  }) => {
    upstream.script("s1", { latencyMs: 50 });
    // A batch delay far past the test: only the export at shutdown can deliver these spans.
    const app = await launch({
      FRAGMENTS: "s1",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    });
    expect(await (await fetch(app.url)).text()).toContain("result for s1");
    expect(receiver.requests()).toBe(0);

    await app.stop("SIGTERM");

    expect(lookupTrees(receiver.spans(), "s1")).toEqual([
      {
        outcome: "miss",
        store: "upstash",
        statusCode: 0,
        children: ["workerless.store.claim", "workerless.store.fill", "workerless.store.gate", "workerless.upstream"],
      },
    ]);
  });

  test("without an OTLP endpoint nothing is exported, not even to the exporters' default address", async ({
    launch,
    upstream,
  }) => {
    const receiver = await receiverOnDefaultPort();
    try {
      upstream.script("n1", { latencyMs: 50 });
      // Every other standard variable is set: only the endpoint turns export on.
      const app = await launch({
        FRAGMENTS: "n1",
        OTEL_SERVICE_NAME: "workerless-e2e",
        OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_DELAY_MS),
      });
      expect(await (await fetch(app.url)).text()).toContain("result for n1");
      // Many batch delays, then the shutdown, which would send anything left.
      await new Promise((resolve) => setTimeout(resolve, 8 * EXPORT_DELAY_MS));
      await app.stop("SIGTERM");

      expect(receiver.requests()).toBe(0);
      expect(app.events().filter((event) => event.event === "trace_export")).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
