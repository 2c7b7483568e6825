import { join } from "node:path";
import { freePort } from "../../../harness/free-port";
import { startServiceProcess, type ServiceProcess } from "../../../harness/service-process";

export type SeedServer = ServiceProcess;

/** Starts the seed port as its own process (so its CPU time is its own) and waits until it answers. */
export async function startSeed(env: Record<string, string>): Promise<SeedServer> {
  const port = await freePort();
  return startServiceProcess({
    name: "The seed server",
    args: ["--import", "tsx", join(__dirname, "server.ts")],
    env: { ...process.env, NODE_ENV: "production", PORT: String(port), ...env },
    port,
    timeoutMs: 15_000,
    ready: async (url) => (await fetch(url)).status === 200,
  });
}
