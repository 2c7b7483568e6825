import "server-only";
import { diag, DiagLogLevel, type DiagLogFunction } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { describeError, logEvent } from "./log";

/** Bound on the last export at shutdown: a collector that does not answer must not hold the exit up for long. */
const LAST_EXPORT_MS = 2000;

export type TraceExport = {
  /** From SIGTERM on: the process's exit waits (up to LAST_EXPORT_MS) until every span has been sent. */
  exportBeforeExit(): void;
};

/** The SDK's own warnings (an export the collector refused or never answered) as this app's log lines. */
function logDiagnostics(level: "warn" | "error"): DiagLogFunction {
  return (message, ...args) => logEvent(level, "trace_export", { message: [message, ...args.map(String)].join(" ") });
}

/**
 * Registers the process's tracer provider: every span, Next's own (requests, rendering, fetch) and this
 * app's (lib/tracing.ts), goes in batches to the OTLP/HTTP endpoint as JSON. The exporter and the batch
 * processor read the standard variables themselves (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _TIMEOUT,
 * OTEL_BSP_SCHEDULE_DELAY, …), and the resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
export function startTraceExport(): TraceExport {
  const noop: DiagLogFunction = () => {};
  diag.setLogger(
    { error: logDiagnostics("error"), warn: logDiagnostics("warn"), info: noop, debug: noop, verbose: noop },
    DiagLogLevel.WARN,
  );
  const provider = new NodeTracerProvider({
    resource: defaultResource()
      .merge(resourceFromAttributes({ "service.name": "workerless" }))
      .merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Also installs the AsyncLocalStorage context manager, which carries the active span across awaits.
  provider.register();
  return {
    exportBeforeExit() {
      // Next ends its drain (in-flight responses, after() work) with process.exit() and has no hook that runs
      // after the drain: the spans of that last work would be lost. So the exit itself waits for the export.
      const exit = process.exit.bind(process);
      let exported: Promise<unknown> | undefined;
      process.exit = ((code) => {
        exported ??= Promise.race([
          provider
            .shutdown()
            .catch((error: unknown) =>
              logEvent("warn", "trace_export", { outcome: "error", error: describeError(error) }),
            ),
          new Promise((resolve) => setTimeout(resolve, LAST_EXPORT_MS)),
        ]);
        void exported.then(() => exit(code));
      }) as typeof process.exit;
    },
  };
}
