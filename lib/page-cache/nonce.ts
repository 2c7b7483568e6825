import "server-only";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { processGlobal } from "../process-global";

/** What this process alone knows: the nonce a page is rendered with for the page cache, and who may ask for one. */
export type PageSecrets = {
  /**
   * Stands where each response's nonce goes. Random per process and never sent to a client (every response
   * gets it replaced), so no value from an upstream can contain it. Shaped like a nonce, so Next accepts it.
   */
  placeholder: string;
  /** Marks the process's own request for a rendering to keep (`capture.ts`); anyone else's is an ordinary view. */
  captureToken: string;
};

export function pageSecrets(): PageSecrets {
  return processGlobal("workerless.pageCache.secrets", () => ({
    placeholder: randomBytes(24).toString("base64url"),
    captureToken: randomBytes(32).toString("base64url"),
  }));
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Whether `value` is this process's capture token, compared in constant time. */
export function isCaptureToken(value: string | null): boolean {
  return value !== null && timingSafeEqual(digest(value), digest(pageSecrets().captureToken));
}

/**
 * A page kept as the UTF-8 bytes between its placeholders, so a response is one copy of them with its nonce
 * between: no string to encode again per response.
 */
export type NoncedPage = readonly Buffer[];

export function splitAtPlaceholder(html: string, placeholder: string): NoncedPage {
  return html.split(placeholder).map((piece) => Buffer.from(piece, "utf8"));
}

export function withNonce(page: NoncedPage, nonce: string): Uint8Array<ArrayBuffer> {
  const between = Buffer.from(nonce, "utf8");
  const bytes = page.reduce((total, piece) => total + piece.length, between.length * (page.length - 1));
  const body = new Uint8Array(bytes);
  let offset = 0;
  page.forEach((piece, index) => {
    if (index > 0) offset += between.copy(body, offset);
    offset += piece.copy(body, offset);
  });
  return body;
}
