import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startRedisStack } from "../harness/redis-stack";
import { startRedisTarget } from "../harness/redis-targets";
import { startScriptedUpstream } from "../harness/upstream-server";
import { copyApp } from "./app-copy";
import { PLAN } from "./plan";
import { log, type Services } from "./run";
import { round } from "./summary";

// What the runners of one phase on its own (`bench/*-only.ts`) share: the build, the services, the output.

const RESULTS = join(__dirname, "results", "tmp");

/** Runs `main` as a script: exits 0 when it resolves, 1 (with the error) when it rejects. */
export function runAlone(main: () => Promise<void>): void {
  main().then(
    // Child processes and sockets are gone; exit even if a library keeps a timer alive.
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** `run` on the build already in `root`, or on a fresh build of a copy of the working tree, removed after. */
export async function withBuild<T>(root: string | undefined, prefix: string, run: (appRoot: string) => Promise<T>) {
  if (root) return run(root);
  log("building a copy of the app for production");
  const copy = copyApp(prefix);
  try {
    copy.build();
    return await run(copy.root);
  } finally {
    copy.remove();
  }
}

/** `run` with the bench's services (the scripted upstream with the plan's latencies, Redis through the bridge and over TCP). */
export async function withServices<T>(appRoot: string, run: (services: Services) => Promise<T>): Promise<T> {
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const tcp = await startRedisTarget("redis");
  try {
    return await run({ upstream, stack, tcp, appRoot });
  } finally {
    await tcp.stop();
    await stack.stop();
    await upstream.close();
  }
}

/** Writes results/tmp/`name`.json and .md, prints the Markdown, and says how long the run took since `started`. */
export function writeAlone(name: string, data: unknown, markdown: string, started: number): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${name}.md`), markdown);
  console.log(markdown);
  log(`done in ${round((performance.now() - started) / 1000, 0)} s; wrote ${RESULTS}`);
}
