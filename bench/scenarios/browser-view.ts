import { devices, type BrowserContext } from "@playwright/test";
import { emulateNetwork, type NetworkConditions } from "./network-profiles";

/** A person's browser: headless Chromium calls itself HeadlessChrome, which the app serves as a crawler. */
export const DESKTOP_USER_AGENT = devices["Desktop Chrome"].userAgent;

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
  firstContentfulPaint?: number;
};
type ProbeWindow = { __benchProbe?: Probe };

/**
 * Installed before any of the page's own scripts. Everything is checked at animation frames, since a frame's
 * paint follows its requestAnimationFrame callbacks: a part counts as visible at the first frame where its
 * container holds its value text and is rendered (and never before the first contentful paint, as a frame
 * can be skipped while the page is still render-blocked); a spinner counts as painted when it is rendered at
 * a frame. The first contentful paint is taken from its performance entry, which Chromium records once the
 * frame is presented, so a moment after the frame itself. Plain JavaScript in a string: tsx would wrap a compiled function in helpers that do not exist in
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
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") probe.firstContentfulPaint = entry.startTime;
  }).observe({ type: "paint", buffered: true });
})();`;

export type ViewOptions = {
  /** Emulated network for every request of the tab; none on loopback. */
  network?: NetworkConditions;
  /** Loaded in the tab first, so that `url` is reached by a same-origin navigation rather than in a fresh tab. */
  from?: string;
};

/**
 * Loads `url` in a new tab of `context` and waits until every named fragment is visible. Times are from the
 * page's own navigation start, so a `from` load before it is not counted.
 */
export async function viewPage(
  context: BrowserContext,
  url: string,
  names: string[],
  options: ViewOptions = {},
): Promise<BrowserView> {
  const page = await context.newPage();
  try {
    if (options.network) await emulateNetwork(page, options.network);
    await page.addInitScript({ content: PROBE });
    if (options.from) await page.goto(options.from, { waitUntil: "load" });
    await page.goto(url, { waitUntil: "commit" });
    // Inline arrows only: a named helper would be compiled into a call the page cannot resolve, and a string
    // would need eval, which the app's Content Security Policy forbids.
    await page
      .waitForFunction(
        (expected) => {
          const probe = (window as unknown as ProbeWindow).__benchProbe;
          return (
            probe?.firstContentfulPaint !== undefined && expected.every((name) => probe.visible[name] !== undefined)
          );
        },
        names,
        { timeout: 20_000, polling: 50 },
      )
      .catch(async (error: unknown) => {
        const seen = await page
          .evaluate(() => JSON.stringify((window as unknown as ProbeWindow).__benchProbe ?? null))
          .catch(() => "unreadable");
        throw new Error(`${url} (at ${page.url()}): not every fragment seen painted; the probe saw ${seen}`, {
          cause: error,
        });
      });
    // One more frame, so a layout shift caused by the last reveal is recorded too.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const probe = await page.evaluate(() => (window as unknown as Required<ProbeWindow>).__benchProbe);
    const fcp = probe.firstContentfulPaint ?? Number.NaN;
    const fragments = Object.fromEntries(
      names.map((name) => [name, Math.round(Math.max(probe.visible[name] ?? Number.NaN, fcp))]),
    );
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

/**
 * Loads `url` (after `from`, if given) in a new tab of `context` until its load event, so the context's cache
 * holds the page's static assets; nothing is measured, and its fragments may still be pending.
 */
export async function primeCache(context: BrowserContext, url: string, from?: string): Promise<void> {
  const page = await context.newPage();
  try {
    if (from) await page.goto(from, { waitUntil: "load" });
    await page.goto(url, { waitUntil: "load" });
  } finally {
    await page.close();
  }
}
