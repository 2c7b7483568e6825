import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TimeoutError } from "./timeout";
import { ATTRIBUTES, traceLookup, traceStoreCall, traceUpstream } from "./tracing";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

// Runs first: no provider is registered yet, as in a process without an OTLP endpoint.
describe("tracing without a tracer provider", () => {
  it("runs the work and passes its result and its failure through", async () => {
    await expect(
      traceLookup("a", "memory", async (span) => (span.isRecording() ? "recorded" : "not recorded")),
    ).resolves.toBe("not recorded");
    await expect(traceUpstream("a", () => Promise.resolve("value"))).resolves.toBe("value");
    const failure = new Error("down");
    await expect(traceStoreCall("upstash", "read", () => Promise.reject(failure))).rejects.toBe(failure);
  });
});

describe("tracing with a tracer provider", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(() => provider.register());
  afterEach(() => exporter.reset());
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  const only = (name: string) => {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
    expect(spans, name).toHaveLength(1);
    return spans[0]!;
  };

  it("puts the upstream call and the store round trips of a lookup under its span, across awaits", async () => {
    const result = await traceLookup("a", "upstash", async (span) => {
      await traceStoreCall("upstash", "claim", async () => ({ leased: true }));
      await tick();
      const value = await traceUpstream("a", async () => "résultat");
      span.setAttribute(ATTRIBUTES.outcome, "miss");
      return value;
    });

    expect(result).toBe("résultat");
    const lookup = only("workerless.lookup");
    expect(lookup.attributes).toEqual({
      "workerless.fragment": "a",
      "workerless.store": "upstash",
      "workerless.cache.outcome": "miss",
    });
    const upstream = only("workerless.upstream");
    const claim = only("workerless.store.claim");
    for (const child of [upstream, claim]) {
      expect(child.parentSpanContext?.spanId).toBe(lookup.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(lookup.spanContext().traceId);
      expect(child.kind).toBe(SpanKind.CLIENT);
    }
    expect(upstream.attributes).toEqual({
      "workerless.fragment": "a",
      "workerless.upstream.outcome": "ok",
      "workerless.upstream.bytes": 11,
    }); // "résultat" as JSON text
    expect(claim.attributes).toEqual({
      "db.system.name": "redis",
      "db.operation.name": "claim",
      "workerless.store": "upstash",
    });
  });

  it("records a failed call on its span and passes the failure on", async () => {
    const failure = new TimeoutError("took too long");
    await expect(traceUpstream("b", () => Promise.reject(failure))).rejects.toBe(failure);

    const upstream = only("workerless.upstream");
    expect(upstream.status).toEqual({ code: SpanStatusCode.ERROR, message: "TimeoutError: took too long" });
    expect(upstream.attributes).toMatchObject({
      "workerless.upstream.outcome": "timeout",
      "error.type": "TimeoutError",
    });
    expect(upstream.events.map((event) => event.name)).toEqual(["exception"]);
  });

  it("tells an upstream error from a timeout", async () => {
    await expect(traceUpstream("c", () => Promise.reject(new Error("500")))).rejects.toThrow("500");
    expect(only("workerless.upstream").attributes).toMatchObject({
      "workerless.upstream.outcome": "error",
      "error.type": "Error",
    });
  });

  it("calls the work synchronously, so calls begun in one tick still go out together", () => {
    let called = false;
    void traceStoreCall("redis", "read", async () => (called = true));
    expect(called).toBe(true);
  });
});
