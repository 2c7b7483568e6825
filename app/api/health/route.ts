import { connection } from "next/server";
import { storeHealth } from "@/lib/slow-find";

/** Which store is in use and whether it answers a real round trip right now. */
export async function GET() {
  await connection();
  const health = await storeHealth();
  return Response.json(health, { status: health.ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}
