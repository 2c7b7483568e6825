import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CAPTURE_HEADER, CaptureError, capturePage } from "./capture";

const SECRETS = { placeholder: "cGxhY2Vob2xkZXItbm9uY2U", captureToken: "token" };

const servers: Server[] = [];
afterEach(() => Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve)))));

/** A stand-in for the app: answers every request with `status`, `type` and `body`, and keeps the request's headers. */
async function page(status: number, type: string, body: string) {
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const server = createServer((request, response) => {
    seen.push(request.headers);
    response.writeHead(status, {
      "content-type": type,
      "content-security-policy": `script-src 'nonce-${SECRETS.placeholder}'`,
      "cache-control": "private, no-store",
      vary: "rsc",
    });
    response.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?q=1`);
  return { url, seen };
}

describe("capturePage", () => {
  it("asks as the reader, with the token, and keeps the page split at its placeholder, without its policy", async () => {
    const html = `<script nonce="${SECRETS.placeholder}"></script><p>x</p><script nonce="${SECRETS.placeholder}">`;
    const { url, seen } = await page(200, "text/html; charset=utf-8", html);
    const captured = await capturePage(url, "Chrome", SECRETS, 2000);
    expect(captured.page.map(String)).toEqual(['<script nonce="', '"></script><p>x</p><script nonce="', '">']);
    expect(seen[0]).toMatchObject({ [CAPTURE_HEADER]: "token", "user-agent": "Chrome", "accept-encoding": "identity" });
    const names = captured.headers.map(([name]) => name);
    expect(names).toEqual(expect.arrayContaining(["content-type", "cache-control", "vary"]));
    expect(names).not.toContain("content-security-policy");
    expect(names).not.toContain("content-length");
  });

  it("refuses a page rendered without the placeholder, an error page and what is not HTML", async () => {
    const without = await page(200, "text/html", '<script nonce="other"></script>');
    await expect(capturePage(without.url, null, SECRETS, 2000)).rejects.toBeInstanceOf(CaptureError);
    const failed = await page(500, "text/html", SECRETS.placeholder);
    await expect(capturePage(failed.url, null, SECRETS, 2000)).rejects.toBeInstanceOf(CaptureError);
    const json = await page(200, "application/json", `"${SECRETS.placeholder}"`);
    await expect(capturePage(json.url, null, SECRETS, 2000)).rejects.toBeInstanceOf(CaptureError);
  });
});
