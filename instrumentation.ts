import type { Config } from "./lib/config";

/** Past this after SIGTERM, a shutdown that is still waiting (a hung connection) ends anyway. */
function shutdownBoundMs(config: Config): number {
  return config.fragmentTimeoutMs + config.upstreamTimeoutMs + 2000;
}

// Validates configuration when the server starts, so a bad variable fails loudly before the first request.
// Next's own SIGTERM handling stops accepting connections, lets in-flight responses finish and awaits
// work scheduled with after() (background refreshes); this only bounds how long that may take.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getConfig } = await import("./lib/config");
  const { logEvent } = await import("./lib/log");
  const config = getConfig();
  process.once("SIGTERM", () => {
    const bound = shutdownBoundMs(config);
    logEvent("info", "shutdown", { outcome: "draining", boundMs: bound });
    setTimeout(() => {
      logEvent("warn", "shutdown", { outcome: "forced", boundMs: bound });
      process.exit(1);
    }, bound).unref();
  });
}
