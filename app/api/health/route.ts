import { connection } from "next/server";
import { health } from "@/lib/health";

/** Which store is in use, whether it answers a real round trip right now, and the cache's counters. */
export async function GET() {
  await connection();
  const report = await health();
  return Response.json(report, { status: report.ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}
