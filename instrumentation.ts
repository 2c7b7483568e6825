import type { Config } from "./lib/config";
import type { ServerLimits } from "./lib/server-limits";

/** Past this after SIGTERM, a shutdown that is still waiting (a hung connection) ends anyway. */
function shutdownBoundMs(config: Config): number {
  return config.fragmentDeadlineMs + config.upstreamTimeoutMs + 2000;
}

// Validates configuration when the server starts, so a bad variable fails loudly before the first request.
// Next's own SIGTERM handling stops accepting connections, lets in-flight responses finish and awaits
// work scheduled with after() (background refreshes); this only bounds how long that may take.
export async function register() {
  // A block the bundler drops from the Edge build (a Node.js API there is reported at every compile).
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getConfig } = await import("./lib/config");
    const { ConfigError } = await import("./lib/config-error");
    const { pageFragments } = await import("./app/page-fragments");
    const { logEvent } = await import("./lib/log");
    const { limitServer, serverLimits } = await import("./lib/server-limits");
    let config: Config;
    let limits: ServerLimits;
    try {
      config = getConfig();
      limits = serverLimits(config, pageFragments());
    } catch (error) {
      // Next would log this and go on answering 500 to everything, health included: a bad variable must
      // stop the process, so an orchestrator sees it fail. Under `next dev` the overlay shows it instead.
      if (!(error instanceof ConfigError) || process.env.NODE_ENV === "development") throw error;
      process.stderr.write(`${error.message}\n`, () => process.exit(1));
      // Requests wait for this to settle: none is answered (a health check with a 200, say) before the exit.
      return new Promise<never>(() => {});
    }
    // Under `next dev` a first request waits, silent, while its route compiles; on Vercel the platform bounds
    // requests and holds the connections, and the server in the function is its own.
    if (process.env.NODE_ENV === "production" && !process.env.VERCEL) limitServer(limits);
    // Registered here, before any request, so Next's request spans and the app's share one provider; without
    // an endpoint nothing is registered and every span is a no-op.
    const traces = config.exportTraces ? (await import("./lib/trace-export")).startTraceExport() : undefined;
    process.once("SIGTERM", () => {
      traces?.exportBeforeExit();
      const bound = shutdownBoundMs(config);
      logEvent("info", "shutdown", { outcome: "draining", boundMs: bound });
      setTimeout(() => {
        logEvent("warn", "shutdown", { outcome: "forced", boundMs: bound });
        process.exit(1);
      }, bound).unref();
    });
  }
}
