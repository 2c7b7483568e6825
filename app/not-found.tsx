import type { Metadata } from "next";
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
        {/*
          A plain link: the root not-found boundary is in every page's payload, so next/link's client chunk
          (7.8 kB) would be fetched on every first visit, and run on every view, for a link only this page shows.
        */}
        {/* eslint-disable-next-line @next/next/no-html-link-for-pages -- next/link would ship on every page */}
        <a href="/">Back to the page</a>
      </p>
    </main>
  );
}
