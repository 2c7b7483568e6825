import { connection } from "next/server";
import { metricsRegistry } from "@/lib/metrics";

/** The cache's counters and the process's own metrics, in the Prometheus text format. */
export async function GET() {
  await connection();
  const registry = metricsRegistry();
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}
