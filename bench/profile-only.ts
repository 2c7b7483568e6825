import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startScriptedUpstream } from "../harness/upstream-server";
import { copyApp } from "./app-copy";
import { profilePhase } from "./phases/profile";
import { PLAN } from "./plan";
import { profileSection } from "./report/markdown";
import { log } from "./run";

// `npx tsx bench/profile-only.ts [--root <checkout>]`: the warm page's CPU profile of `npm run bench` on its
// own, with the page cache and without, on a fresh build of a copy of the working tree or on the build already
// in `--root`. Honours BENCH_QUICK; writes results/tmp/profile.*.
const { values: args } = parseArgs({ options: { root: { type: "string" } } });
const RESULTS = join(__dirname, "results", "tmp");

async function main(): Promise<void> {
  let copy: ReturnType<typeof copyApp> | undefined;
  if (!args.root) {
    log("building a copy of the app for production");
    copy = copyApp("workerless-profile-");
  }
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  try {
    copy?.build();
    const services = { upstream, appRoot: args.root ?? copy!.root };
    const profiles = {
      "streamed, no page cache": await profilePhase(services, { PAGE_CACHE: "off" }),
      "streamed, page cache": await profilePhase(services),
    };
    const markdown = `${profileSection(profiles).join("\n\n")}\n`;
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "profile.json"), `${JSON.stringify(profiles, null, 2)}\n`);
    writeFileSync(join(RESULTS, "profile.md"), markdown);
    console.log(markdown);
  } finally {
    await upstream.close();
    copy?.remove();
  }
}

main().then(
  // Child processes and sockets are gone; exit even if a library keeps a timer alive.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
