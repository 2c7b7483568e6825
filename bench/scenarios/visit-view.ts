import type { BrowserContext, Request } from "@playwright/test";
import { sleep } from "../../lib/timeout";
import { interactiveAt, totalBlockingTime, type LongTask } from "./blocking-time";
import { emulateNetwork, type NetworkConditions } from "./network-profiles";

/** One page load on a slowed CPU, ms since navigation start, Lighthouse-style. */
export type VisitView = {
  firstContentfulPaint: number;
  /** The end of the last long task before the quiet window (or the first contentful paint, if later). */
  interactive: number;
  totalBlockingTime: number;
  longTasks: number;
  /** Bytes the page's requests took over the network (its document and subresources), not from the cache. */
  transferredBytes: number;
};

export type VisitOptions = {
  /** Emulated network for every request of the tab; none on loopback. */
  network?: NetworkConditions;
  /** Chromium's CPU slowdown factor (`Emulation.setCPUThrottlingRate`); 1 is none. */
  cpuSlowdown: number;
  /** How long the page must stay quiet (no long task, no request under way) after its load event. */
  quietMs: number;
  /** Text the loaded page must hold, so a crawler's page or a spinner is never what was measured. */
  expectText: string[];
};

type Probe = { tasks: LongTask[]; firstContentfulPaint?: number };
type ProbeWindow = { __visitProbe?: Probe };

/**
 * Installed before any of the page's own scripts. Long tasks are not buffered, so the observer has to be
 * there before the first one. Plain JavaScript in a string, as in `browser-view.ts`.
 */
const PROBE = `(() => {
  const probe = { tasks: [] };
  window.__visitProbe = probe;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) probe.tasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: "longtask" });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") probe.firstContentfulPaint = entry.startTime;
  }).observe({ type: "paint", buffered: true });
})();`;

/**
 * Loads `url` in a new tab of `context` on a CPU slowed `cpuSlowdown` times, then waits past its load event
 * until it has been quiet for `quietMs`: no long task and no request under way. Lighthouse waits for 5 s of
 * quiet (tolerating two requests); a shorter window keeps the bench bounded, and tasks that start later are
 * not counted.
 */
export async function visitPage(context: BrowserContext, url: string, options: VisitOptions): Promise<VisitView> {
  const page = await context.newPage();
  try {
    if (options.network) await emulateNetwork(page, options.network);
    const session = await context.newCDPSession(page);
    await session.send("Emulation.setCPUThrottlingRate", { rate: options.cpuSlowdown });
    await page.addInitScript({ content: PROBE });
    const underWay = new Set<Request>();
    let lastRequestChange = performance.now();
    const settle = (request: Request) => {
      underWay.delete(request);
      lastRequestChange = performance.now();
    };
    page.on("request", (request) => {
      underWay.add(request);
      lastRequestChange = performance.now();
    });
    page.on("requestfinished", settle);
    page.on("requestfailed", settle);
    await page.goto(url, { waitUntil: "load" });
    const deadline = performance.now() + 20_000;
    for (;;) {
      // Inline arrows only: a named helper would be compiled into a call the page cannot resolve.
      const sinceTask = await page.evaluate(() => {
        const probe = (window as unknown as Required<ProbeWindow>).__visitProbe;
        if (probe.firstContentfulPaint === undefined) return 0;
        return performance.now() - Math.max(0, ...probe.tasks.map((task) => task.start + task.duration));
      });
      const sinceRequest = underWay.size === 0 ? performance.now() - lastRequestChange : 0;
      const quiet = Math.min(sinceTask, sinceRequest);
      if (quiet >= options.quietMs) break;
      if (performance.now() > deadline) throw new Error(`${url}: never quiet for ${options.quietMs} ms within 20 s`);
      await sleep(Math.max(50, options.quietMs - quiet));
    }
    const { probe, text, transferredBytes } = await page.evaluate(() => ({
      probe: (window as unknown as Required<ProbeWindow>).__visitProbe,
      text: document.body.textContent ?? "",
      transferredBytes: (
        performance
          .getEntriesByType("navigation")
          .concat(performance.getEntriesByType("resource")) as Array<PerformanceResourceTiming>
      ).reduce((sum, entry) => sum + entry.transferSize, 0),
    }));
    const missing = options.expectText.filter((expected) => !text.includes(expected));
    if (missing.length > 0) throw new Error(`${url}: the page was quiet without ${missing.join(", ")}`);
    const fcp = probe.firstContentfulPaint!;
    const interactive = interactiveAt(probe.tasks, fcp);
    return {
      firstContentfulPaint: Math.round(fcp),
      interactive: Math.round(interactive),
      totalBlockingTime: Math.round(totalBlockingTime(probe.tasks, fcp, interactive)),
      longTasks: probe.tasks.length,
      transferredBytes,
    };
  } finally {
    await page.close();
  }
}
