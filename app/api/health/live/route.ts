import { connection } from "next/server";

/**
 * Liveness: answers while the process can serve pages, whatever the store does (a page renders from the
 * upstream when Redis is down). Restarting the process would not bring Redis back.
 */
export async function GET() {
  await connection();
  return Response.json({ live: true }, { headers: { "cache-control": "no-store" } });
}
