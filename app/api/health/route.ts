import { connection } from "next/server";
import { health } from "@/lib/health";
import { checkMetricsAccess } from "@/lib/metrics-access";

/**
 * Whether this instance's cache works (200, or 503 while the shared store does not answer). The detail (which
 * store, the circuit, the counters) goes only to callers allowed to read the metrics; a load balancer needs
 * no more than `ok` and the status.
 */
export async function GET(request: Request) {
  await connection();
  const report = await health();
  const detailed = checkMetricsAccess(request.headers.get("authorization")) === "ok";
  return Response.json(detailed ? report : { ok: report.ok }, {
    status: report.ok ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}
