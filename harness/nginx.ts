import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "./daemon";
import { freePort } from "./free-port";

export type NginxLocation = {
  /** The location's prefix, e.g. `/` or `/ignoring/`. */
  prefix: string;
  /** Extra directives inside the location block, e.g. `proxy_ignore_headers X-Accel-Buffering;`. */
  directives?: string[];
};

export type NginxOptions = {
  /** The app behind nginx. */
  upstreamPort: number;
  /**
   * Each location proxies to the app with its prefix replaced by `/`, passing the client's Host on as
   * X-Forwarded-Host; nginx's defaults otherwise (proxy_buffering on). @default [{ prefix: "/" }]
   */
  locations?: NginxLocation[];
  /** Directives in the server block, before the locations, e.g. `client_max_body_size 1k;`. */
  serverDirectives?: string[];
};

export type NginxServer = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Everything nginx printed so far (its error log goes to stderr). */
  output(): string;
  /** SIGQUIT (graceful), SIGKILL after a grace period; removes the temp dir. */
  stop(): Promise<void>;
};

const READY_TIMEOUT_MS = 10_000;

function nginxBinary(): string {
  return existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
}

function config(
  dir: string,
  port: number,
  { upstreamPort, locations = [{ prefix: "/" }], serverDirectives = [] }: NginxOptions,
): string {
  const blocks = locations.map(({ prefix, directives = [] }) =>
    [
      `    location ${prefix} {`,
      `      proxy_pass http://127.0.0.1:${upstreamPort}/;`,
      "      proxy_http_version 1.1;",
      // The address the browser used, as a deployment passes it on: Next compares a server action call's Origin with it.
      "      proxy_set_header X-Forwarded-Host $http_host;",
      ...directives.map((directive) => `      ${directive}`),
      "    }",
    ].join("\n"),
  );
  return [
    "daemon off;",
    "master_process on;",
    "worker_processes 1;",
    `pid ${join(dir, "nginx.pid")};`,
    "error_log stderr warn;",
    "events { worker_connections 256; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${join(dir, "client_body")};`,
    `  proxy_temp_path ${join(dir, "proxy")};`,
    `  fastcgi_temp_path ${join(dir, "fastcgi")};`,
    `  uwsgi_temp_path ${join(dir, "uwsgi")};`,
    `  scgi_temp_path ${join(dir, "scgi")};`,
    "  server {",
    `    listen 127.0.0.1:${port};`,
    ...serverDirectives.map((directive) => `    ${directive}`),
    ...blocks,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Runs a real nginx in the foreground, as a child of this process, with a generated config in a temp dir. */
export async function startNginx(options: NginxOptions): Promise<NginxServer> {
  const dir = await mkdtemp(join(tmpdir(), "nginx-test-"));
  const port = await freePort();
  const configPath = join(dir, "nginx.conf");
  await writeFile(configPath, config(dir, port, options));
  // -e: the compiled-in error log path may not be writable; -p: relative paths stay in the temp dir.
  const daemon = await startDaemon({
    name: "nginx",
    binary: nginxBinary(),
    args: ["-p", dir, "-e", "stderr", "-c", configPath],
    port,
    dir,
    stopSignal: "SIGQUIT",
    // Any HTTP answer means nginx listens (a 404 or 502 too); a static file, so the app renders nothing.
    probe: { path: "/spinner.svg", method: "HEAD" },
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return { ...daemon, port };
}
