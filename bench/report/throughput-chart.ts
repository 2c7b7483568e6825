import type { Results } from "../results";
import { svgDocument, text, ticks } from "./svg";

const WIDTH = 880;
const LEFT = 190;
const RIGHT = 150;
const ROW = 28;

/** Served page views per second at the highest offered rate, with server CPU per view beside each bar. */
export function throughputSvg(results: Results): string {
  const rows = Object.entries(results.warm.throughput).map(([name, runs]) => ({
    name,
    top: runs.at(-1),
    low: runs[0],
  }));
  const offered = rows[0]?.top?.offeredViews ?? 0;
  const maxViews = Math.max(...rows.map((row) => row.top?.views ?? 0)) * 1.1;
  const scale = (views: number) => LEFT + (views / maxViews) * (WIDTH - LEFT - RIGHT);
  const top = 40;
  const height = top + rows.length * ROW + 40;
  const body: string[] = [
    text(
      10,
      20,
      `Warm throughput: page views/s served at ${offered} offered (CPU ms per view at ${rows[0]?.low?.offeredViews ?? 0} offered)`,
      'font-weight="bold"',
    ),
  ];
  for (const tick of ticks(maxViews)) {
    body.push(
      `<line x1="${scale(tick)}" y1="${top - 4}" x2="${scale(tick)}" y2="${top + rows.length * ROW}" stroke="#eaeef2"/>`,
    );
    body.push(text(scale(tick), top + rows.length * ROW + 16, String(tick), 'text-anchor="middle" fill="#57606a"'));
  }
  rows.forEach((row, index) => {
    const y = top + index * ROW;
    const views = row.top?.views ?? 0;
    const color = row.name.startsWith("seed") ? "#bc4c00" : row.name.startsWith("floor") ? "#1a7f37" : "#0969da";
    body.push(text(10, y + 17, row.name));
    body.push(`<rect x="${LEFT}" y="${y + 6}" width="${scale(views) - LEFT}" height="16" fill="${color}"/>`);
    body.push(text(scale(views) + 6, y + 18, `${views}/s · ${row.low?.cpuPerView ?? "?"} ms CPU`, 'fill="#1f2328"'));
  });
  return svgDocument(WIDTH, height, "Warm throughput", body);
}
