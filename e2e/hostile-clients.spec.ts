import { readFileSync } from "node:fs";
import { join } from "node:path";
import { devices } from "@playwright/test";
import { bodyFlood, sampleRss, untilServerCloses, type BodyFlood } from "../bench/scenarios/hostile-clients";
import { startNginx } from "../harness/nginx";
import { sendBody, stallReaders } from "../harness/raw-clients";
import { expect, test } from "./fixtures";

const BROWSER = { "user-agent": devices["Desktop Chrome"].userAgent };
const TOKEN = "hostile-clients-admin-token-0123";
const MIB = 1024 * 1024;
/** The README's bound on one instance's resident memory (**Memory.**). */
const README_BOUND_MIB = 256;

/** Every answer's status, and the slowest answer and close, in one line for the report. */
function figures(flood: BodyFlood) {
  const slowest = (key: "answeredMs" | "closedMs") =>
    Math.max(...flood.outcomes.map((outcome) => outcome[key] ?? Infinity));
  return `RSS ${flood.rss.before} → peak ${flood.rss.peak} → ${flood.rss.after} MiB; last answer ${slowest("answeredMs")} ms, last close ${slowest("closedMs")} ms`;
}

test.describe("request bodies", () => {
  test("40 connections each announcing 1 GiB get 413 at once and are closed, within the README's memory bound", async ({
    launch,
  }, testInfo) => {
    const app = await launch({ FRAGMENTS: "a" });
    const flood = await bodyFlood(
      app,
      40,
      { path: "/", announcedBytes: 2 ** 30, sendBytes: 12_000_000, waitMs: 10_000 },
      1000,
    );
    testInfo.annotations.push({ type: "figures", description: figures(flood) });
    console.info(figures(flood));
    for (const outcome of flood.outcomes) {
      expect(outcome.status, "answered 413").toBe(413);
      expect(outcome.answeredMs!, "at once, not once the body is read").toBeLessThan(2000);
      expect(outcome.closedMs, "and the connection ended by the server").toBeLessThan(3000);
      expect(outcome.sentBytes, "before the client could send what it announced").toBeLessThan(2 ** 30);
    }
    expect(flood.rss.peak, "resident memory within the README's bound").toBeLessThan(README_BOUND_MIB);
  });

  test("a body the app would not take is refused at once on every route: page, purge, health, fragment, server action", async ({
    launch,
  }) => {
    const app = await launch({ FRAGMENTS: "a", CACHE_ADMIN_TOKEN: TOKEN });
    const stalled = { announcedBytes: 1_000_000, sendBytes: 7, waitMs: 5000 };
    const requests = {
      page: { path: "/", ...stalled },
      purge: {
        path: "/api/cache/purge",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        ...stalled,
      },
      health: { path: "/api/health/live", ...stalled },
      fragment: { path: "/fragment/a", ...stalled },
      "server action": {
        path: "/",
        headers: { "next-action": "0".repeat(42), "content-type": "text/plain;charset=UTF-8" },
        ...stalled,
      },
      "a body where none is taken": {
        method: "GET",
        path: "/api/health/live",
        announcedBytes: 5,
        sendBytes: 5,
        waitMs: 5000,
      },
    };
    for (const [label, request] of Object.entries(requests)) {
      const outcome = await sendBody({ port: app.port, ...request });
      expect(outcome.status, label).toBe(413);
      expect(outcome.answeredMs!, label).toBeLessThan(1000);
    }
    // What the app does take still gets through.
    const purge = await fetch(`${app.url}/api/cache/purge`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: '{"all":true}',
    });
    expect(purge.status).toBe(200);
  });

  for (const standalone of [false, true]) {
    test(`a body that stops is cut at IDLE_TIMEOUT_MS and one that trickles at REQUEST_TIMEOUT_MS (${standalone ? "standalone server" : "next start"})`, async ({
      launch,
    }) => {
      const app = await launch(
        {
          FRAGMENTS: "a",
          FRAGMENT_DEADLINE_MS: "1000",
          IDLE_TIMEOUT_MS: "2000",
          REQUEST_TIMEOUT_MS: "3000",
          CACHE_ADMIN_TOKEN: TOKEN,
        },
        { standalone },
      );
      const purge = {
        path: "/api/cache/purge",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        waitMs: 10_000,
      };
      const [stopped, trickled] = await Promise.all([
        sendBody({ ...purge, port: app.port, announcedBytes: 100, sendBytes: 7 }),
        sendBody({ ...purge, port: app.port, announcedBytes: 500, sendBytes: 500, trickleEveryMs: 200 }),
      ]);
      expect(stopped.closedMs, "stopped: closed after 2 s without a byte").toBeGreaterThanOrEqual(1900);
      expect(stopped.closedMs).toBeLessThan(3500);
      expect(trickled.status, "trickled: 408").toBe(408);
      expect(trickled.closedMs, "trickled: cut 3 s after its headers").toBeGreaterThanOrEqual(2900);
      expect(trickled.closedMs).toBeLessThan(4500);
    });
  }
});

test.describe("readers that never read", () => {
  test("40 readers of a 7 MiB page are closed within twice IDLE_TIMEOUT_MS, which lets go of what their responses held", async ({
    launch,
    upstream,
  }, testInfo) => {
    upstream.script("big", { body: `big ${"0123456789 ".repeat(340_000)}end` });
    const idleMs = 3000;
    const app = await launch({
      FRAGMENTS: "big",
      FRAGMENT_DEADLINE_MS: "1000",
      IDLE_TIMEOUT_MS: String(idleMs),
      UPSTREAM_MAX_BYTES: String(16 * MIB),
      CACHE_MAX_VALUE_BYTES: String(16 * MIB),
    });
    const page = await (await fetch(`${app.url}/`, { headers: BROWSER })).text();
    expect(page.length, "a page of megabytes, from the cache from now on").toBeGreaterThan(7 * MIB);

    const rss = sampleRss(app.pid);
    const readers = await stallReaders(app.port, "/", 40, BROWSER);
    let closedMs: number | undefined;
    try {
      closedMs = await untilServerCloses(app.port, readers.sockets, 20_000);
    } finally {
      readers.close();
    }
    // Resident memory is reported, not asserted: when V8 and the allocator give freed pages back depends on
    // their own timing (a second wave's peak was seen from 16 MiB under the first's to 150 MiB over it on a busy
    // machine). What the server controls, and what frees what a response held, is that it lets go.
    const { before, peak } = rss.stop();
    const description = `closed after ${closedMs} ms; RSS ${before} → peak ${peak} MiB`;
    testInfo.annotations.push({ type: "figures", description });
    console.info(description);
    // From the requests: the page is written (a few seconds for 40 at once on a small machine), then at most 2 × idle.
    expect(closedMs, "the server let go of every stalled reader").toBeLessThan(2 * idleMs + 10_000);
  });
});

test.describe("behind nginx, with the README's lines", () => {
  /** The directives of the README's nginx snippet, as written there. */
  function readmeDirectives(): string[] {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    const snippet = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet, "the README's nginx snippet").toBeDefined();
    return snippet!
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter(Boolean);
  }

  test("nginx refuses a large body at once and cuts a stalled one", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "a" });
    const nginx = await startNginx({ upstreamPort: app.port, serverDirectives: readmeDirectives() });
    try {
      const [large, stalled] = await Promise.all([
        sendBody({ port: nginx.port, path: "/", announcedBytes: 2 ** 30, sendBytes: 12_000_000, waitMs: 5000 }),
        sendBody({ port: nginx.port, path: "/api/cache/purge", announcedBytes: 100, sendBytes: 7, waitMs: 15_000 }),
      ]);
      expect(large.status).toBe(413);
      expect(large.answeredMs!).toBeLessThan(1000);
      // nginx closes a timed-out request without an answer (its log says 408).
      expect(stalled.closedMs, "client_body_timeout").toBeGreaterThanOrEqual(9900);
      expect(stalled.closedMs).toBeLessThan(12_000);
    } finally {
      await nginx.stop();
    }
  });
});
