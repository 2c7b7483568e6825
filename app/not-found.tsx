import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";

export const metadata: Metadata = { title: "Not found · Workerless" };

/**
 * Any address the app has no page for. Rendered per request, like every page here, so its inline scripts
 * carry the response's CSP nonce (a page prerendered at build time has none to carry).
 */
export default async function NotFound() {
  await connection();
  return (
    <main>
      <h1>Not found</h1>
      <p className="lede">There is no page at this address.</p>
      <p>
        <Link href="/">Back to the page</Link>
      </p>
    </main>
  );
}
