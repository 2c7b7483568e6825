import { connection } from "next/server";
import { scrapeMetrics } from "@/lib/metrics";
import { checkMetricsAccess } from "@/lib/metrics-access";

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
  const { text, contentType } = await scrapeMetrics();
  return new Response(text, { headers: { "content-type": contentType, "cache-control": "no-store" } });
}
