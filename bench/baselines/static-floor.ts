import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { FRAGMENT_NAMES } from "../plan";
import { DESKTOP_USER_AGENT } from "../scenarios/browser-view";
import { launchApp, log, readBody, type Services } from "../run";

/** What the static document is made of, for the report. */
export type StaticFloorDocument = {
  bytes: number;
  gzipBytes: number;
  scriptsRemoved: number;
  preloadsRemoved: number;
  stylesheetsInlined: number;
};

export type StaticFloor = { url: string; document: StaticFloorDocument; close(): Promise<void> };

const SCRIPT = /<script\b[^>]*>[\s\S]*?<\/script>/gi;
const LINK = /<link\b[^>]*>/gi;
// A browser running scripts reads a <noscript> as text: nothing in one is fetched or changed.
const NOSCRIPT = /(<noscript\b[^>]*>[\s\S]*?<\/noscript>)/gi;

function attribute(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i")
    .exec(tag)
    ?.slice(1)
    .find((value) => value !== undefined);
}

/** The static floor, made from a warm view of the streamed page on an instance of its own. */
export async function staticFloorOf(services: Services): Promise<StaticFloor> {
  const app = await launchApp(services, "memory", { CACHE_FRESH_SECONDS: "3600" });
  try {
    log("static floor: a warm copy of the streamed page");
    await readBody(`${app.url}/`);
    return await startStaticFloor(app.url, FRAGMENT_NAMES);
  } finally {
    await app.stop();
  }
}

/**
 * The physical floor for first paint: the warm page's own HTML (its fragments all in it), fetched as a
 * person's browser gets it, with every script and script preload removed and every linked stylesheet
 * inlined, served from a minimal server on 127.0.0.1 with the app's content type and gzip.
 */
export async function startStaticFloor(appUrl: string, names: string[]): Promise<StaticFloor> {
  const response = await fetch(`${appUrl}/`, { headers: { "user-agent": DESKTOP_USER_AGENT } });
  const html = await response.text();
  const contentType = response.headers.get("content-type") ?? "text/html; charset=utf-8";
  const missing = names.filter((name) => !html.includes(`result for ${name}`));
  // React's hidden segments are moved into place by a script this document no longer has.
  if (missing.length > 0 || /<div hidden id="S:/.test(html)) {
    throw new Error(
      `the streamed page was not warm when its static copy was taken (missing: ${missing.join(", ") || "none"})`,
    );
  }
  const { document, ...counts } = await staticDocument(html, async (href) => {
    const sheet = await fetch(new URL(href, appUrl));
    if (!sheet.ok) throw new Error(`stylesheet ${href} answered ${sheet.status}`);
    return sheet.text();
  });
  const plain = Buffer.from(document);
  const gzipped = gzipSync(plain);
  const server = createServer((request, answer) => {
    if (request.url !== "/") {
      answer.writeHead(404).end();
      return;
    }
    const gzip = /\bgzip\b/.test(request.headers["accept-encoding"] ?? "");
    answer.writeHead(200, {
      "content-type": contentType,
      vary: "accept-encoding",
      "cache-control": "no-store",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    answer.end(gzip ? gzipped : plain);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    document: { ...counts, bytes: plain.length, gzipBytes: gzipped.length },
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `html` without scripts or script preloads, its stylesheets (fetched by `stylesheet`) inlined. */
async function staticDocument(
  html: string,
  stylesheet: (href: string) => Promise<string>,
): Promise<Omit<StaticFloorDocument, "bytes" | "gzipBytes"> & { document: string }> {
  let scriptsRemoved = 0;
  let preloadsRemoved = 0;
  const inlined = new Map<string, string>();
  let stylesheetsInlined = 0;
  const rewritten: string[] = [];
  // Odd parts are the captured <noscript> elements, left as they are; in order, so each sheet is inlined once.
  for (const [index, part] of html.split(NOSCRIPT).entries()) {
    if (index % 2 === 1) {
      rewritten.push(part);
      continue;
    }
    const withoutScripts = part.replace(SCRIPT, () => {
      scriptsRemoved += 1;
      return "";
    });
    for (const tag of withoutScripts.match(LINK) ?? []) {
      const href = attribute(tag, "href");
      if (attribute(tag, "rel")?.toLowerCase() === "stylesheet" && href && !inlined.has(href)) {
        inlined.set(href, await stylesheet(href));
        stylesheetsInlined += 1;
      }
    }
    rewritten.push(
      withoutScripts.replace(LINK, (tag) => {
        const rel = attribute(tag, "rel")?.toLowerCase();
        const href = attribute(tag, "href") ?? "";
        const as = attribute(tag, "as")?.toLowerCase();
        if (rel === "stylesheet") {
          // Where the first link to it was; a repeated link adds nothing.
          const css = inlined.get(href);
          inlined.set(href, "");
          return css ? `<style>${css}</style>` : "";
        }
        // A preload of a script, or of a stylesheet now inlined, would only fetch from the floor's server.
        if (
          rel === "modulepreload" ||
          (rel === "preload" && (as === "script" || (as === "style" && inlined.has(href))))
        ) {
          preloadsRemoved += 1;
          return "";
        }
        return tag;
      }),
    );
  }
  return { document: rewritten.join(""), scriptsRemoved, preloadsRemoved, stylesheetsInlined };
}
