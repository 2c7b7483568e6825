import { connection } from "next/server";
import { probeStore } from "@/lib/health";

/** Readiness: 503 while the shared store does not answer, so a load balancer sends traffic elsewhere. */
export async function GET() {
  await connection();
  const probe = await probeStore();
  return Response.json(
    { ready: probe.ok, ...probe },
    { status: probe.ok ? 200 : 503, headers: { "cache-control": "no-store" } },
  );
}
