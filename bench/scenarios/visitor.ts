import { percentiles, type Percentiles } from "../summary";
import { DESKTOP_USER_AGENT } from "./browser-view";

/** One visitor's views of a page at a fixed rate: how long each took to arrive whole, and what arrived. */
export type VisitorFigures = Percentiles & {
  /** From a view's start until its HTML held every part's data (views that never did are left out). */
  untilComplete: Percentiles;
  /** Views answered with a status other than 200, or not at all. */
  failed: number;
  /** Views whose HTML lacked one of the parts' data. */
  incomplete: number;
  /** Views whose shell carried a spinner: a part streamed in later instead of arriving in the shell. */
  streamed: number;
};

/**
 * What one view brought: its status (a view of several requests: the first not 200), whether its shell carried
 * a spinner, and when, ms after its start, its HTML held every part's data (undefined: never).
 */
export type ViewAnswer = { status: number; streamed: boolean; completeMs: number | undefined };

/** One page view, timed from its first request until every byte of it arrived. */
export type View = () => Promise<ViewAnswer>;

/** Whether a page's HTML, as far as it has arrived, holds every part's data. */
export type Complete = (html: string) => boolean;

const headers = { "user-agent": DESKTOP_USER_AGENT };

/**
 * A view of the app's page with a desktop Chrome user agent (the app serves crawlers differently): its one
 * response, read as it arrives, whose shell carries a spinner for each part not in it.
 */
export function pageView(url: string, complete: Complete): View {
  return async () => {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const decoder = new TextDecoder();
    let html = "";
    let completeMs: number | undefined;
    const reader = response.body?.getReader();
    for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
      html += decoder.decode(read.value, { stream: true });
      if (completeMs === undefined && complete(html)) completeMs = performance.now() - started;
    }
    return { status: response.status, streamed: html.includes('class="spinner"'), completeMs };
  };
}

/** A view of the seed as its client script makes it: the skeleton (a spinner per part), then every part at once. */
export function seedView(url: string, names: readonly string[], complete: Complete): View {
  return async () => {
    const started = performance.now();
    const skeleton = await fetch(url, { headers });
    await skeleton.text();
    const parts = await Promise.all(
      names.map(async (name) => {
        const part = await fetch(`${url}/fragment/${encodeURIComponent(name)}`, { headers });
        return { status: part.status, html: await part.text() };
      }),
    );
    const html = parts.map((part) => part.html).join("");
    return {
      status: [skeleton, ...parts].find((answer) => answer.status !== 200)?.status ?? 200,
      streamed: true,
      completeMs: complete(html) ? performance.now() - started : undefined,
    };
  };
}

/** Views `url` `perSecond` times a second with a desktop Chrome user agent; see `startViews`. */
export function startVisitor(url: string, perSecond: number, complete: Complete) {
  return startViews(pageView(url, complete), perSecond);
}

/**
 * Makes `view` `perSecond` times a second, each on schedule whether or not the previous one has arrived, so a
 * slow answer does not thin out the views that measure it. Each view is timed until its whole body arrived.
 */
export function startViews(view: View, perSecond: number) {
  const timings: number[] = [];
  const untilComplete: number[] = [];
  const views: Array<Promise<void>> = [];
  let failed = 0;
  let incomplete = 0;
  let streamed = 0;
  const timed = async () => {
    const started = performance.now();
    try {
      const answer = await view();
      timings.push(performance.now() - started);
      if (answer.completeMs !== undefined) untilComplete.push(answer.completeMs);
      if (answer.status !== 200) failed += 1;
      else if (answer.completeMs === undefined) incomplete += 1;
      if (answer.streamed) streamed += 1;
    } catch {
      failed += 1;
    }
  };
  const timer = setInterval(() => views.push(timed()), 1000 / perSecond);
  return {
    /** Stops viewing and waits for the views under way. */
    async stop(): Promise<VisitorFigures> {
      clearInterval(timer);
      await Promise.all(views);
      return { ...percentiles(timings), untilComplete: percentiles(untilComplete), failed, incomplete, streamed };
    },
  };
}
