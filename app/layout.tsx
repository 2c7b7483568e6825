import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Workerless",
  description:
    "Each part of this page waits on a slow external API and streams into the same response the moment its data is ready, from a cache when it can: no worker queue, no polling.",
  // Link previews read these; Next fills their title and description in from the two fields above.
  openGraph: { type: "website", siteName: "Workerless" },
  twitter: { card: "summary" },
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        {/*
          Without JavaScript no script moves a streamed part into its section or removes its spinner. A file,
          not an inline <style>: the CSP's style-src 'self' admits it with no nonce, and a browser running
          scripts never fetches it.
        */}
        <noscript>
          {/* eslint-disable-next-line @next/next/no-css-tags -- read only without JavaScript, so never bundled */}
          <link rel="stylesheet" href="/noscript.css" />
        </noscript>
      </head>
      <body>{children}</body>
    </html>
  );
}
