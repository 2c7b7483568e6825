import { FRAGMENT_NAMES } from "../plan";
import type { Results } from "../results";
import { svgDocument, text, ticks } from "./svg";

const WIDTH = 880;
const LEFT = 190;
const RIGHT = 30;
const ROW = 30;
const COLORS = ["#1a7f37", "#0969da", "#8250df", "#bc4c00", "#cf222e"];

type Row = { label: string; start: number; end: number; marks: Array<{ name: string; at: number }> };

/**
 * When the shell and each fragment arrived for every contender, cold (medians): on the wire, and on screen
 * on loopback. The grey bar is time with nothing to show; the blue bar, time with the page (or skeleton) up.
 */
export function waterfallSvg(results: Results): string {
  const rawRows: Row[] = Object.entries(results.cold.raw).map(([name, raw]) => ({
    label: `${name}: bytes`,
    start: raw.firstByte.median,
    end: raw.done.median,
    marks: FRAGMENT_NAMES.map((fragment) => ({ name: fragment, at: raw.fragments[fragment]?.median ?? Number.NaN })),
  }));
  const viewRows: Row[] = Object.entries(results.cold.browser.loopback ?? {}).map(([name, view]) => ({
    label: `${name}: on screen`,
    start: view.firstContentfulPaint.median,
    end: view.allVisible.median,
    marks: FRAGMENT_NAMES.map((fragment) => ({ name: fragment, at: view.fragments[fragment]?.median ?? Number.NaN })),
  }));
  const rows = [...rawRows, ...viewRows];
  const maxMs = Math.max(...rows.map((row) => row.end)) * 1.05;
  const scale = (ms: number) => LEFT + (ms / maxMs) * (WIDTH - LEFT - RIGHT);
  const top = 40;
  const height = top + rows.length * ROW + 50;
  const body: string[] = [
    text(
      10,
      20,
      "Cold page: first byte / first paint on loopback (bar starts) and each fragment (dots), median ms",
      'font-weight="bold"',
    ),
  ];
  for (const tick of ticks(maxMs)) {
    body.push(
      `<line x1="${scale(tick)}" y1="${top - 6}" x2="${scale(tick)}" y2="${top + rows.length * ROW}" stroke="#eaeef2"/>`,
    );
    body.push(text(scale(tick), top + rows.length * ROW + 16, String(tick), 'text-anchor="middle" fill="#57606a"'));
  }
  rows.forEach((row, index) => {
    const y = top + index * ROW;
    body.push(text(10, y + 17, row.label));
    body.push(`<rect x="${LEFT}" y="${y + 8}" width="${scale(row.start) - LEFT}" height="12" fill="#d0d7de"/>`);
    body.push(
      `<rect x="${scale(row.start)}" y="${y + 8}" width="${Math.max(scale(row.end) - scale(row.start), 2)}" height="12" fill="#b6d7ff"/>`,
    );
    row.marks.forEach((mark, markIndex) => {
      const color = COLORS[markIndex % COLORS.length];
      body.push(`<circle cx="${scale(mark.at)}" cy="${y + 14}" r="5" fill="${color}"/>`);
      body.push(text(scale(mark.at) + 7, y + 6, `${mark.name} ${mark.at}`, `fill="${color}" font-size="10"`));
    });
  });
  body.push(text(LEFT, height - 12, "ms after the request (bytes) or navigation start (screen)", 'fill="#57606a"'));
  return svgDocument(WIDTH, height, "Cold page waterfall", body);
}
