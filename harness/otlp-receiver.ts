import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type AttributeValue = string | number | boolean;

/** One span as a collector would see it, flattened from OTLP/HTTP's JSON encoding. */
export type ReceivedSpan = {
  /** `service.name` of the resource that sent it. */
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  attributes: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  /** Names of the span's events, e.g. `exception`. */
  events: string[];
};

export type OtlpReceiver = {
  /** For `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://127.0.0.1:PORT` (the exporter appends `/v1/traces`). */
  url: string;
  /** Every HTTP request received, on any path and in any format. */
  requests(): number;
  spans(): ReceivedSpan[];
  close(): Promise<void>;
};

/** OTLP/JSON's AnyValue: one of these keys is set; 64-bit integers may come as strings. */
type JsonValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
type JsonAttribute = { key: string; value?: JsonValue };
type JsonSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: JsonAttribute[];
  status?: { code?: number };
  events?: Array<{ name: string }>;
};
type JsonExport = {
  resourceSpans?: Array<{ resource?: { attributes?: JsonAttribute[] }; scopeSpans?: Array<{ spans?: JsonSpan[] }> }>;
};

function attributeMap(attributes: JsonAttribute[] = []): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  for (const { key, value = {} } of attributes) {
    const scalar =
      value.stringValue ??
      value.boolValue ??
      value.doubleValue ??
      (value.intValue === undefined ? undefined : Number(value.intValue));
    if (scalar !== undefined) map[key] = scalar;
  }
  return map;
}

function flatten(body: JsonExport): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap(({ resource, scopeSpans = [] }) => {
    const service = String(attributeMap(resource?.attributes)["service.name"] ?? "");
    return scopeSpans.flatMap(({ spans = [] }) =>
      spans.map((span) => ({
        service,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? "",
        name: span.name,
        attributes: attributeMap(span.attributes),
        statusCode: span.status?.code ?? 0,
        events: (span.events ?? []).map((event) => event.name),
      })),
    );
  });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: accepts `POST /v1/traces` in the JSON
 * encoding (what `@opentelemetry/exporter-trace-otlp-http` sends) and keeps the spans; any other request
 * is counted and refused. `port` 4318 is the exporters' default destination. @default a free port
 */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    const body = await readBody(request);
    if (request.method !== "POST" || request.url !== "/v1/traces") {
      response.writeHead(404).end();
      return;
    }
    if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
      response.writeHead(415).end();
      return;
    }
    let parsed: JsonExport;
    try {
      parsed = JSON.parse(body) as JsonExport;
    } catch {
      response.writeHead(400).end();
      return;
    }
    spans.push(...flatten(parsed));
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
  };
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests: () => requests,
    spans: () => [...spans],
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
