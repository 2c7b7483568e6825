import type { BrowserContext } from "@playwright/test";

/** What headless Chromium showed during one page load, ms since navigation start. */
export type BrowserView = {
  fragments: Record<string, number>;
  /** When the last fragment became visible. */
  allVisible: number;
  firstContentfulPaint: number;
  /** Whether a loading spinner was on screen in any rendered frame. */
  spinnerPainted: boolean;
  cumulativeLayoutShift: number;
};

type Probe = {
  visible: Record<string, number>;
  spinnerPainted: boolean;
  layoutShift: number;
};
type ProbeWindow = { __benchProbe?: Probe };

/**
 * Installed before any of the page's own scripts. Everything is checked at animation frames, since a frame's
 * paint follows its requestAnimationFrame callbacks: a part counts as visible at the first frame where its
 * container holds its value text and is rendered (and never before the first contentful paint, as a frame
 * can be skipped while the page is still render-blocked); a spinner counts as painted when it is rendered at
 * a frame. Plain JavaScript in a string: tsx would wrap a compiled function in helpers that do not exist in
 * the page.
 */
const PROBE = `(() => {
  const probe = { visible: {}, spinnerPainted: false, layoutShift: 0 };
  window.__benchProbe = probe;
  const frame = (now) => {
    for (const spinner of document.querySelectorAll('[role="status"][aria-label^="Loading"]')) {
      if (spinner.checkVisibility()) probe.spinnerPainted = true;
    }
    for (const part of document.querySelectorAll("[data-fragment]")) {
      const name = part.getAttribute("data-fragment") || "";
      if (probe.visible[name] === undefined && (part.textContent || "").includes("result for " + name) && part.checkVisibility()) {
        probe.visible[name] = now;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) probe.layoutShift += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
})();`;

/** Loads `url` in a new tab of `context` and waits until every named fragment is visible. */
export async function viewPage(context: BrowserContext, url: string, names: string[]): Promise<BrowserView> {
  const page = await context.newPage();
  try {
    await page.addInitScript({ content: PROBE });
    await page.goto(url, { waitUntil: "commit" });
    // Inline arrows only: a named helper would be compiled into a call the page cannot resolve, and a string
    // would need eval, which the app's Content Security Policy forbids.
    await page.waitForFunction(
      (expected) => expected.every((name) => (window as unknown as ProbeWindow).__benchProbe?.visible[name] !== undefined),
      names,
      { timeout: 20_000, polling: 50 },
    );
    // One more frame, so a layout shift caused by the last reveal is recorded too.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { probe, fcp } = await page.evaluate(() => ({
      probe: (window as unknown as Required<ProbeWindow>).__benchProbe,
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
    }));
    const fragments = Object.fromEntries(names.map((name) => [name, Math.round(Math.max(probe.visible[name] ?? Number.NaN, fcp))]));
    return {
      fragments,
      allVisible: Math.max(...Object.values(fragments)),
      firstContentfulPaint: Math.round(fcp),
      spinnerPainted: probe.spinnerPainted,
      cumulativeLayoutShift: Math.round(probe.layoutShift * 1000) / 1000,
    };
  } finally {
    await page.close();
  }
}
