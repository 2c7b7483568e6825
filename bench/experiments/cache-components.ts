import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { startApp, type AppServer } from "../../test-support/app-server";
import { timeChunks } from "../../test-support/chunk-timer";
import { startScriptedUpstream, type ScriptedUpstream } from "../../test-support/upstream-server";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import { cpuMs } from "../proc";
import { timePage } from "../scenarios/raw-timing";
import { log, sleep } from "../run";
import { cell, table } from "../report/table";
import { round, spread, type Spread } from "../summary";

const ROOT = join(__dirname, "..", "..");
const PATCH = join(__dirname, "cache-components.patch");
const RESULTS = join(__dirname, "..", "results");
const WARM_ROUNDS = 10;
const VIEWS_PER_ROUND = 20;
const COLD_RUNS = 3;
const DEADLINE_MS = 1000;

type Variant = { name: string; root: string };
type Figures = {
  warmFirstByte: Spread;
  warmComplete: Spread;
  cpuPerView: number;
  spinnersInWarmHtml: number;
  coldFirstByte: Spread;
  coldLastFragment: Spread;
  deadlineShownAt: number | undefined;
};

/**
 * Does prerendering the static shell (Cache Components, partial prerendering) lower first byte and CPU per
 * view? Builds a copy of the committed app with `cache-components.patch` applied next to the app as it is,
 * and measures both side by side on the embedded store over one scripted upstream. `npm run bench` first,
 * or any `npm run build`, so the app as it is has a build.
 */
async function main(): Promise<void> {
  const copy = mkdtempSync(join(tmpdir(), "workerless-cache-components-"));
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  try {
    log(`building the app with Cache Components in ${copy}`);
    execFileSync("git", ["worktree", "add", "--detach", copy, "HEAD"], { cwd: ROOT, stdio: "ignore" });
    execFileSync("git", ["apply", PATCH], { cwd: copy });
    linkDependencies(copy);
    // The fragment names are read while the shell is prerendered: the build must see them.
    execFileSync("npx", ["next", "build"], { cwd: copy, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, FRAGMENTS: FRAGMENT_NAMES.join(",") } });
    if (!existsSync(join(ROOT, ".next", "BUILD_ID"))) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });

    const variants: Variant[] = [
      { name: "as it is", root: ROOT },
      { name: "Cache Components", root: copy },
    ];
    const figures: Record<string, Figures> = {};
    for (const variant of variants) figures[variant.name] = await measure(variant, upstream);
    report(figures);
  } finally {
    await upstream.close();
    execFileSync("git", ["worktree", "remove", "--force", copy], { cwd: ROOT, stdio: "ignore" });
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Turbopack refuses a node_modules symlinked from outside the project: hard links, or a full copy. */
function linkDependencies(copy: string): void {
  const from = join(ROOT, "node_modules");
  const to = join(copy, "node_modules");
  try {
    execFileSync("cp", ["-al", from, to], { stdio: "ignore" });
  } catch {
    rmSync(to, { recursive: true, force: true });
    execFileSync("cp", ["-a", from, to]);
  }
}

async function measure(variant: Variant, upstream: ScriptedUpstream): Promise<Figures> {
  const env = { SLOW_API_URL: upstream.urlTemplate, FRAGMENTS: FRAGMENT_NAMES.join(",") };
  log(`${variant.name}: warm`);
  let app = await startApp({ root: variant.root, env: { ...env, CACHE_TTL_SECONDS: "3600" } });
  const warm = await warmFigures(app);
  await app.stop();

  log(`${variant.name}: cold`);
  app = await startApp({ root: variant.root, env: { ...env, CACHE_TTL_SECONDS: "1", CACHE_GRACE_SECONDS: "0" } });
  await timePage(`${app.url}/`, FRAGMENT_NAMES);
  const cold = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    await sleep(1300);
    cold.push(await timePage(`${app.url}/`, FRAGMENT_NAMES));
  }
  await app.stop();

  log(`${variant.name}: fragment deadline`);
  app = await startApp({ root: variant.root, env: { ...env, FRAGMENT_TIMEOUT_MS: String(DEADLINE_MS) } });
  const slowest = FRAGMENT_NAMES.at(-1)!;
  const response = await timeChunks(`${app.url}/`);
  await app.stop();

  return {
    ...warm,
    coldFirstByte: spread(cold.map((timing) => timing.firstByte)),
    coldLastFragment: spread(cold.map((timing) => Math.max(...Object.values(timing.fragments)))),
    deadlineShownAt: response.arrival(`Retry ${slowest}`),
  };
}

async function warmFigures(app: AppServer) {
  await timePage(`${app.url}/`, FRAGMENT_NAMES);
  const html = (await timeChunks(`${app.url}/`)).chunks.map((chunk) => chunk.text).join("");
  const firstBytes: number[] = [];
  const completes: number[] = [];
  let cpu = 0;
  for (let round = 0; round < WARM_ROUNDS; round++) {
    const before = cpuMs(app.pid);
    for (let view = 0; view < VIEWS_PER_ROUND; view++) {
      const timing = await timePage(`${app.url}/`, FRAGMENT_NAMES);
      firstBytes.push(timing.firstByte);
      completes.push(timing.done);
    }
    cpu += cpuMs(app.pid) - before;
  }
  return {
    warmFirstByte: spread(firstBytes),
    warmComplete: spread(completes),
    cpuPerView: round(cpu / (WARM_ROUNDS * VIEWS_PER_ROUND), 2),
    spinnersInWarmHtml: (html.match(/aria-label="Loading fragment /gi) ?? []).length,
  };
}

/** Prints the comparison and writes it to `bench/results/cache-components.md`. */
function report(figures: Record<string, Figures>): void {
  const rows = Object.entries(figures).map(([name, f]) => [
    name,
    cell(f.warmFirstByte),
    cell(f.warmComplete),
    String(f.cpuPerView),
    String(f.spinnersInWarmHtml),
    cell(f.coldFirstByte),
    cell(f.coldLastFragment),
    f.deadlineShownAt === undefined ? "never" : `${f.deadlineShownAt} ms`,
  ]);
  const header = [
    "variant",
    "warm first byte ms",
    "warm complete ms",
    "server CPU ms / warm view",
    "spinners in warm HTML",
    "cold first byte ms",
    "cold last fragment ms",
    "deadline notice at",
  ];
  const markdown = [
    `Measured ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown"}, Node ${process.version}, by ` +
      `\`npm run bench:cache-components\`: the app as it is and with \`bench/experiments/cache-components.patch\`, embedded store, ` +
      `upstream ${FRAGMENT_NAMES.map((name) => `${name} ${PLAN.latencies[name]} ms`).join(", ")}. Warm: ${WARM_ROUNDS * VIEWS_PER_ROUND} ` +
      `sequential views; cold: ${COLD_RUNS} views, entries expired between them; deadline: \`FRAGMENT_TIMEOUT_MS=${DEADLINE_MS}\`, ` +
      "when the slowest fragment's retry notice arrived. Times in ms: median (min–max).",
    "",
    table(header, rows),
  ].join("\n");
  writeFileSync(join(RESULTS, "cache-components.md"), `${markdown}\n`);
  console.log(markdown);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
