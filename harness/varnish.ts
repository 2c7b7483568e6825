import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon } from "./daemon";
import { freePort } from "./free-port";

export type VarnishOptions = {
  /** The app behind Varnish. */
  upstreamPort: number;
  /** The bearer token a purge must carry (`Authorization: Bearer <token>`). */
  purgeToken: string;
  /** Where to listen: a port the app was told of before Varnish could start (`varnishPurgeUrl`). @default a free one */
  port?: number;
};

export type VarnishServer = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /**
   * Where purges go (`CDN_PURGE_URL`): a `POST` with `Surrogate-Key: <keys>` drops every object filed under
   * one of them (xkey), one with no such header drops everything; each needs the bearer token.
   */
  purgeUrl: string;
  /** Everything varnishd printed so far. */
  output(): string;
  /** SIGTERM, SIGKILL after a grace period; removes the temp dir. */
  stop(): Promise<void>;
};

const READY_TIMEOUT_MS = 15_000;
const PURGE_PATH = "/.cdn/purge";

/** Where the purges of the Varnish listening on `port` go. */
export const varnishPurgeUrl = (port: number) => `http://127.0.0.1:${port}${PURGE_PATH}`;

function varnishdBinary(): string {
  return existsSync("/usr/sbin/varnishd") ? "/usr/sbin/varnishd" : "varnishd";
}

/**
 * A CDN's behaviour in VCL: what the app's headers allow is cached (Varnish reads `s-maxage` and
 * `stale-while-revalidate` itself), each object is filed under the keys of its `Surrogate-Key` (xkey reads its
 * own header), and the keys leave with the object, as Fastly strips them. `X-Cache` tells a test whether an
 * answer came from the cache.
 */
function vcl(upstreamPort: number, purgeToken: string): string {
  return `vcl 4.1;
import xkey;

backend app {
  .host = "127.0.0.1";
  .port = "${upstreamPort}";
}

sub vcl_recv {
  if (req.url == "${PURGE_PATH}") {
    if (req.method != "POST") {
      return (synth(405, "Method Not Allowed"));
    }
    if (req.http.authorization != "Bearer ${purgeToken}") {
      return (synth(403, "Forbidden"));
    }
    if (req.http.surrogate-key) {
      return (synth(200, "Purged " + xkey.purge(req.http.surrogate-key)));
    }
    ban("obj.status != 0");
    return (synth(200, "Purged all"));
  }
}

sub vcl_backend_response {
  if (beresp.http.surrogate-key) {
    set beresp.http.xkey = beresp.http.surrogate-key;
  }
}

sub vcl_deliver {
  if (obj.hits > 0) {
    set resp.http.x-cache = "hit";
  } else {
    set resp.http.x-cache = "miss";
  }
  unset resp.http.xkey;
  unset resp.http.surrogate-key;
}
`;
}

/**
 * Runs a real varnishd (with the xkey module of varnish-modules) in the foreground, as a child of this
 * process, in front of the app: its VCL and working directory (`-n`) in a temp dir, no jail, so it runs as
 * this user and reads them whoever that is.
 */
export async function startVarnish({ upstreamPort, purgeToken, ...options }: VarnishOptions): Promise<VarnishServer> {
  if (!/^[\w-]+$/.test(purgeToken)) throw new Error("the purge token must be letters, digits, _ and -");
  const dir = await mkdtemp(join(tmpdir(), "varnish-test-"));
  const port = options.port ?? (await freePort());
  const vclPath = join(dir, "default.vcl");
  await writeFile(vclPath, vcl(upstreamPort, purgeToken));
  const args = ["-F", "-j", "none", "-n", join(dir, "work"), "-a", `127.0.0.1:${port}`, "-f", vclPath];
  // No management port; a small store; no thread pool sized for production.
  args.push("-T", "none", "-s", "malloc,64m", "-p", "thread_pool_min=10", "-p", "thread_pools=1");
  const daemon = await startDaemon({
    name: "varnishd",
    binary: varnishdBinary(),
    args,
    port,
    dir,
    stopSignal: "SIGTERM",
    // Any answer means Varnish listens; a purge without the token is refused by the VCL, reaching nothing.
    probe: { path: PURGE_PATH, method: "POST" },
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return { ...daemon, port, purgeUrl: varnishPurgeUrl(port) };
}
