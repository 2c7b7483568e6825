import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { freePort } from "./free-port";
import { startServiceProcess, type ServiceProcess } from "./service-process";

export type AppServer = ServiceProcess & {
  port: number;
  /** Lines of the server's output that parse as JSON log events. */
  events(): Array<Record<string, unknown>>;
};

export type AppOptions = {
  env?: Record<string, string>;
  /** Run `.next/standalone/server.js` instead of `next start`. */
  standalone?: boolean;
  /**
   * Run `next dev`, as `npm run dev` does, instead of the production build. It compiles each route on its first
   * request (tens of seconds on a small machine) and writes only into `.next/dev`, so the build stays intact;
   * it refuses to start while another `next dev` runs in the same checkout.
   */
  dev?: boolean;
  /** The checkout whose build to run (a copy of the app built differently, for an experiment). @default this repository */
  root?: string;
};

const ROOT = join(__dirname, "..");
// Variables the app reads: a developer's own settings must not leak into a test's app.
const APP_VARIABLES =
  /^(UPSTASH_|KV_|SLOW_API_|FRAGMENTS$|CACHE_|CDN_|FRAGMENT_|UPSTREAM_|REDIS_|NEXT_|OTEL_|METRICS_TOKEN$|PAGE_CACHE|SHELL_HOLD_MS$|IDLE_TIMEOUT_MS$|REQUEST_TIMEOUT_MS$)/;

function parseEvents(output: string): Array<Record<string, unknown>> {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Starts the production build of the app (or `next dev`) on a free port and waits until its health route answers. */
export async function startApp(options: AppOptions = {}): Promise<AppServer> {
  const root = options.root ?? ROOT;
  const dev = options.dev ?? false;
  if (!dev && !existsSync(join(root, ".next", "BUILD_ID"))) {
    throw new Error("No production build: run `npm run build` before the end-to-end tests");
  }
  const port = await freePort();
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !APP_VARIABLES.test(name))),
    NODE_ENV: dev ? ("development" as const) : ("production" as const),
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    ...(dev ? { NEXT_TELEMETRY_DISABLED: "1" } : {}),
    ...options.env,
  };
  const next = createRequire(__filename).resolve("next/dist/bin/next");
  const args = options.standalone
    ? [join(root, ".next", "standalone", "server.js")]
    : [next, dev ? "dev" : "start", "-p", String(port), "-H", "127.0.0.1"];
  const service = await startServiceProcess({
    name: "The app",
    args,
    env,
    port,
    cwd: root,
    // 503 is an answer too: the app is up even when its store is not.
    ready: async (url) => [200, 503].includes((await fetch(`${url}/api/health`)).status),
    ...(dev ? { timeoutMs: 120_000 } : {}),
  });
  // `next dev` serves from a child process that it stops on SIGTERM, but that a SIGKILL would leave running.
  const stop: AppServer["stop"] = dev ? () => service.stop("SIGTERM") : service.stop;
  return { ...service, stop, port, events: () => parseEvents(service.output()) };
}
