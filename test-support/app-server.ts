import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort } from "./free-port";

export type AppServer = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  pid: number;
  /** Everything the server printed so far. */
  output(): string;
  /** Lines of the server's output that parse as JSON log events. */
  events(): Array<Record<string, unknown>>;
  /** Sends `signal` (SIGTERM by default) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export type AppOptions = {
  env?: Record<string, string>;
  /** Run `.next/standalone/server.js` instead of `next start`. */
  standalone?: boolean;
};

const ROOT = join(__dirname, "..");
const READY_TIMEOUT_MS = 30_000;
// Variables the app reads: a developer's own settings must not leak into a test's app.
const APP_VARIABLES = /^(UPSTASH_|KV_|SLOW_API_|FRAGMENTS$|CACHE_|FRAGMENT_|UPSTREAM_|REDIS_|NEXT_)/;

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Starts the production build of the app on a free port and waits until its health route answers. */
export async function startApp(options: AppOptions = {}): Promise<AppServer> {
  if (!existsSync(join(ROOT, ".next", "BUILD_ID"))) {
    throw new Error("No production build: run `npm run build` before the end-to-end tests");
  }
  const port = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !APP_VARIABLES.test(name))),
    NODE_ENV: "production" as const,
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    ...options.env,
  };
  const command = options.standalone
    ? [join(ROOT, ".next", "standalone", "server.js")]
    : [createRequire(__filename).resolve("next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"];
  const child = spawn(process.execPath, command, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The app exited during start:\n${output}`);
    const status = await fetch(`${url}/api/health`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200 || status === 503) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`The app did not answer within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    port,
    pid: child.pid ?? 0,
    output: () => output,
    events: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
