import { parseArgs } from "node:util";
import { runAlone, withBuild, withServices, writeAlone } from "./alone";
import { profilePhase } from "./phases/profile";
import { profileSection } from "./report/markdown";

// `npx tsx bench/profile-only.ts [--root <checkout>]`: the warm page's CPU profile of `npm run bench` on its
// own, with the page cache and without, on a fresh build of a copy of the working tree or on the build already
// in `--root`. Honours BENCH_QUICK; writes results/tmp/profile.*.
const { values: args } = parseArgs({ options: { root: { type: "string" } } });

runAlone(async () => {
  const started = performance.now();
  await withBuild(args.root, "workerless-profile-", (appRoot) =>
    withServices(appRoot, async (services) => {
      const profiles = {
        "streamed, no page cache": await profilePhase(services, { PAGE_CACHE: "off" }),
        "streamed, page cache": await profilePhase(services),
      };
      writeAlone("profile", profiles, `${profileSection(profiles).join("\n\n")}\n`, started);
    }),
  );
});
