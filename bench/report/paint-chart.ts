import type { Results } from "../results";
import { svgDocument, text, ticks } from "./svg";

const WIDTH = 880;
const LEFT = 190;
const RIGHT = 60;
const ROW = 18;
const CONTENDERS = ["streamed", "seed", "blocking", "static floor"];
const COLORS: Record<string, { paint: string; rest: string }> = {
  streamed: { paint: "#0969da", rest: "#b6d7ff" },
  seed: { paint: "#bc4c00", rest: "#ffd8b5" },
  blocking: { paint: "#57606a", rest: "#d0d7de" },
  "static floor": { paint: "#1a7f37", rest: "#aceebb" },
};

/**
 * First contentful paint (dark bar) and all fragments visible (light bar beyond it) per contender, for each
 * network profile; cold and warm in panels of their own, each on its own scale.
 */
export function paintSvg(results: Results): string {
  const body: string[] = [
    text(
      10,
      20,
      "First paint (dark) and all visible (light), per network profile, median ms after navigation start",
      'font-weight="bold"',
    ),
  ];
  let y = 40;
  for (const phase of ["cold", "warm"] as const) {
    const profiles = results.networkProfiles.map(({ name }) => ({ name, views: results[phase].browser[name] ?? {} }));
    const maxMs =
      Math.max(...profiles.flatMap(({ views }) => CONTENDERS.map((name) => views[name]?.allVisible.median ?? 0))) *
        1.05 || 1;
    const scale = (ms: number) => LEFT + (ms / maxMs) * (WIDTH - LEFT - RIGHT);
    const rows = profiles.length * (CONTENDERS.length + 1);
    body.push(text(10, y, `${phase === "cold" ? "Cold" : "Warm"} page`, 'font-weight="bold"'));
    y += 10;
    for (const tick of ticks(maxMs)) {
      body.push(`<line x1="${scale(tick)}" y1="${y}" x2="${scale(tick)}" y2="${y + rows * ROW}" stroke="#eaeef2"/>`);
      body.push(
        text(scale(tick), y + rows * ROW + 14, String(tick), 'text-anchor="middle" fill="#57606a" font-size="10"'),
      );
    }
    for (const { name: profile, views } of profiles) {
      body.push(text(10, y + 13, profile, 'font-weight="bold" fill="#57606a"'));
      y += ROW;
      for (const contender of CONTENDERS) {
        const view = views[contender];
        if (view) {
          const paint = view.firstContentfulPaint.median;
          const all = Math.max(view.allVisible.median, paint);
          const color = COLORS[contender]!;
          body.push(text(20, y + 13, contender, 'font-size="11"'));
          body.push(
            `<rect x="${LEFT}" y="${y + 4}" width="${scale(paint) - LEFT}" height="11" fill="${color.paint}"/>`,
          );
          body.push(
            `<rect x="${scale(paint)}" y="${y + 4}" width="${Math.max(scale(all) - scale(paint), 1)}" height="11" fill="${color.rest}"/>`,
          );
          body.push(text(scale(all) + 5, y + 13, `${paint} / ${all}`, 'font-size="10" fill="#1f2328"'));
        }
        y += ROW;
      }
    }
    y += 40;
  }
  return svgDocument(WIDTH, y, "First paint and all visible per network profile", body);
}
