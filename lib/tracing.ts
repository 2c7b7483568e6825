import "server-only";
import { SpanKind, SpanStatusCode, trace, type Span, type SpanOptions } from "@opentelemetry/api";
import type { Json } from "./json";
import { describeError } from "./log";
import type { StoreKind } from "./stores/store";
import { LoadTimeoutError } from "./cache/errors";
import { TimeoutError } from "./timeout";

// Spans go through the OpenTelemetry API alone. Until a tracer provider is registered (instrumentation.ts
// does so only when an OTLP endpoint is configured) it hands out non-recording spans: nothing is kept,
// nothing is exported, and the one attribute that costs anything to compute (an answer's size) is skipped.
const tracer = trace.getTracer("workerless");

/** Attribute keys of this app's spans. */
export const ATTRIBUTES = {
  fragment: "workerless.fragment",
  /** A lookup's outcome: where its value came from, or `pending` (past the deadline) or `error`. */
  outcome: "workerless.cache.outcome",
  store: "workerless.store",
  upstreamOutcome: "workerless.upstream.outcome",
  upstreamBytes: "workerless.upstream.bytes",
} as const;

/** Marks `span` failed with `error`, which is recorded on it as an exception event. */
export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : describeError(error));
  // The semantic conventions' fallback when an error has no type name.
  span.setAttribute("error.type", error instanceof Error ? error.name : "_OTHER");
  span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
}

/**
 * Runs `work` in a span that is active while it runs, so spans begun inside it are its children; the span
 * ends when `work` settles, and a rejection is recorded on it before it is passed on. `work` is called
 * synchronously: calls it begins keep their timing (the store clients batch calls begun in the same tick).
 */
function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** One fragment lookup; `lookup` sets the outcome on the span it is given once it knows it. */
export function traceLookup<T>(
  fragment: string,
  store: StoreKind | "memory",
  lookup: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(
    "workerless.lookup",
    { attributes: { [ATTRIBUTES.fragment]: fragment, [ATTRIBUTES.store]: store } },
    lookup,
  );
}

/** One call to the upstream API for `fragment`: its outcome, and the size of its answer (as JSON text). */
export function traceUpstream(fragment: string, call: () => Promise<Json>): Promise<Json> {
  return inSpan(
    "workerless.upstream",
    { kind: SpanKind.CLIENT, attributes: { [ATTRIBUTES.fragment]: fragment } },
    async (span) => {
      try {
        const value = await call();
        if (span.isRecording()) {
          span.setAttributes({
            [ATTRIBUTES.upstreamOutcome]: "ok",
            [ATTRIBUTES.upstreamBytes]: Buffer.byteLength(JSON.stringify(value) ?? ""),
          });
        }
        return value;
      } catch (error) {
        span.setAttribute(
          ATTRIBUTES.upstreamOutcome,
          error instanceof LoadTimeoutError || error instanceof TimeoutError ? "timeout" : "error",
        );
        throw error;
      }
    },
  );
}

/** One round trip to the shared store (`read`, `claim`, `fill` or `fail`), as bounded by its time budget. */
export function traceStoreCall<T>(store: StoreKind, op: string, call: () => Promise<T>): Promise<T> {
  return inSpan(
    `workerless.store.${op}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { "db.system.name": "redis", "db.operation.name": op, [ATTRIBUTES.store]: store },
    },
    call,
  );
}
