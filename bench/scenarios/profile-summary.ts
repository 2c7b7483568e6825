import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";
import { round } from "../summary";
import type { CpuProfile } from "./cpu-profile";

// Next's own code: its prebuilt server bundles map to webpack://next/, its unbundled files to ../../src/ or
// node_modules/next/.
const NEXT = String.raw`(?:next/(?:dist/(?:esm/)?)?|webpack://next/\./(?:dist/)?|^(?:\.\./)+(?=src/))`;
// This app's own files: `[project]/` in the pages' chunks, a relative path in the proxy's.
const OURS = String.raw`(?:\[project\]/|^(?:\.\./)+)`;

/**
 * Where a sample's function comes from, tested in this order on its original source (through the build's
 * source maps: Turbopack bundles the app, Next's server runtime and React into chunks). The first match names
 * the category.
 */
const CATEGORIES: ReadonlyArray<readonly [string, RegExp]> = [
  ["garbage collection", /^\(garbage collector\)$/],
  ["proxy.ts (ours)", new RegExp(`${OURS}(proxy|lib/(inline-style-hashes|server-action-call|fragment-name))\\.ts`)],
  ["page cache (ours)", new RegExp(`${OURS}(lib/page-cache/|app/page-cache\\.ts)`)],
  [
    "tracing (OpenTelemetry no-ops, Next's tracer)",
    new RegExp(`@opentelemetry|lib/tracing\\.ts|${NEXT}(src/)?server/lib/trace/`),
  ],
  ["logging (ours)", new RegExp(`${OURS}lib/log\\.ts`)],
  ["metrics (prom-client, ours)", new RegExp(`prom-client|${OURS}lib/metrics`)],
  ["our lookups (lib/, sources/, zod, isbot)", new RegExp(`${OURS}(lib|sources)/|app/page-fragments|/zod/|/isbot/`)],
  ["our page components (app/)", new RegExp(`${OURS}app/`)],
  ["RSC payload (React Flight render)", /react-server-dom/],
  ["HTML serialisation (React Fizz)", /react-dom-server|react-dom\/cjs\/.*server/],
  ["React (other)", /\/react(-dom)?\//],
  [
    "Next: HTML stream transforms (inlined RSC payload, head)",
    new RegExp(`${NEXT}(src/)?server/(stream-utils|app-render/stream-ops)`),
  ],
  ["Next: running the proxy (adapter, NextRequest/Response)", new RegExp(`${NEXT}(src/)?server/web/`)],
  [
    "Next: app render (request stores, RSC to HTML)",
    new RegExp(`${NEXT}(src/)?(server/(app-render|route-modules/app-page|async-storage)|client/)`),
  ],
  ["Next: metadata (head tags, generateMetadata)", new RegExp(`${NEXT}(src/)?lib/metadata/`)],
  ["Next: routing and request handling", new RegExp(`${NEXT}|next/dist/`)],
  ["AsyncLocalStorage, promise hooks (async_hooks)", /^node:(internal\/)?async_hooks/],
  ["Node: HTTP, streams, sockets, timers", /^node:|^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/],
  ["microtask queue (runMicrotasks)", /^runMicrotasks$/],
  ["V8: (program), unattributed", /^\(program\)$/],
];

const OTHER = "other (V8, Node built-ins, native)";

/** One category's share of the profiled window. */
export type ProfileRow = { category: string; ms: number; share: number; perView: number };

export type ProfileSummary = {
  views: number;
  /** CPU time sampled (idle excluded), ms; per view below. */
  sampledMs: number;
  perViewMs: number;
  rows: ProfileRow[];
  /** The heaviest functions by self time, to see what a category holds. */
  top: Array<{ name: string; source: string; category: string; ms: number }>;
};

/** Source maps by chunk URL; null when a file has none. */
const maps = new Map<string, SourceMap | null>();

function mapOf(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  if (url.startsWith("file://")) {
    const path = `${fileURLToPath(url)}.map`;
    if (existsSync(path)) map = new SourceMap(JSON.parse(readFileSync(path, "utf8")) as never);
  }
  maps.set(url, map);
  return map;
}

/** The original source of a frame (a bundled module's own path), else its URL, else its function name. */
function sourceOf({ url, lineNumber, columnNumber, functionName }: CpuProfile["nodes"][number]["callFrame"]): string {
  if (!url) return functionName;
  const entry = mapOf(url)?.findEntry(lineNumber, columnNumber) as { originalSource?: string } | undefined;
  return entry?.originalSource ?? url;
}

const categoryOf = (source: string) => CATEGORIES.find(([, pattern]) => pattern.test(source))?.[0] ?? OTHER;

/** Self time by category over `views` page views served while the profile ran. */
export function summariseProfile(profile: CpuProfile, views: number): ProfileSummary {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((node, index) => {
    selfUs.set(node, (selfUs.get(node) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, { name: string; source: string; category: string; us: number }>();
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id);
    if (!us || node.callFrame.functionName === "(idle)") continue;
    const source = sourceOf(node.callFrame);
    const category = categoryOf(source);
    totalUs += us;
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    const name = node.callFrame.functionName || "(anonymous)";
    const id = `${name} ${source}`;
    const known = byFunction.get(id) ?? { name, source, category, us: 0 };
    known.us += us;
    byFunction.set(id, known);
  }
  const rows = [...byCategory]
    .sort(([, a], [, b]) => b - a)
    .map(([category, us]) => ({
      category,
      ms: round(us / 1000),
      share: round((us / totalUs) * 100),
      perView: round(us / 1000 / views, 2),
    }));
  const top = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, 40)
    .map(({ name, source, category, us }) => ({
      name,
      source: source.replace(/^.*\[project\]\//, ""),
      category,
      ms: round(us / 1000),
    }));
  return { views, sampledMs: round(totalUs / 1000), perViewMs: round(totalUs / 1000 / views, 2), rows, top };
}
