import { connection } from "next/server";
import { checkMetricsAccess, metricsRegistry } from "@/lib/metrics";

const STATUS = { missing: 401, wrong: 403 } as const;

/** The cache's counters and the process's own metrics, in the Prometheus text format; behind METRICS_TOKEN if set. */
export async function GET(request: Request) {
  await connection();
  const access = checkMetricsAccess(request.headers.get("authorization"));
  if (access !== "ok") {
    return new Response(`${access === "missing" ? "Unauthorized" : "Forbidden"}\n`, {
      status: STATUS[access],
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        ...(access === "missing" ? { "www-authenticate": 'Bearer realm="metrics"' } : {}),
      },
    });
  }
  const registry = metricsRegistry();
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}
