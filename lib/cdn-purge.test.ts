import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CdnPurgeError, purgeCdn, surrogateKeysPurged } from "./cdn-purge";

/** A stand-in CDN: it keeps each purge request it gets and answers with `status`. */
let server: Server;
let url: string;
let status = 200;
const received: Array<{ method?: string; headers: IncomingMessage["headers"]; body: unknown }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const { method, headers } = request;
      received.push({ method, headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      response.writeHead(status).end("done");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/purge`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  status = 200;
});

describe("surrogateKeysPurged", () => {
  it("is the tag, or the key's own surrogate key; nothing names everything", () => {
    expect(surrogateKeysPurged({ tag: "news" })).toEqual(["news"]);
    expect(surrogateKeysPurged({ tag: "@weather" })).toEqual(["@weather"]);
    expect(surrogateKeysPurged({ key: "weather?city=porto" })).toEqual(["@weather?city=porto"]);
    expect(surrogateKeysPurged({ all: true })).toBeUndefined();
  });
});

describe("purgeCdn", () => {
  it("posts the keys in Surrogate-Key and as Cloudflare's JSON, with the bearer token", async () => {
    await purgeCdn({ key: "rates" }, { url, token: "cdn-secret" });
    expect(received).toEqual([
      {
        method: "POST",
        headers: expect.objectContaining({
          "surrogate-key": "@rates",
          authorization: "Bearer cdn-secret",
          "content-type": "application/json",
        }),
        body: { tags: ["@rates"] },
      },
    ]);
  });

  it("asks for everything with no Surrogate-Key, and sends no token when none is configured", async () => {
    await purgeCdn({ all: true }, { url });
    expect(received[0]?.body).toEqual({ purge_everything: true });
    expect(received[0]?.headers).not.toHaveProperty("surrogate-key");
    expect(received[0]?.headers).not.toHaveProperty("authorization");
  });

  it("rejects with a CdnPurgeError naming the status when the CDN refuses", async () => {
    status = 403;
    const refused = purgeCdn({ tag: "news" }, { url, token: "wrong" });
    await expect(refused).rejects.toBeInstanceOf(CdnPurgeError);
    await expect(refused).rejects.toThrow(/answered the purge 403/);
  });

  it("rejects with a CdnPurgeError when nothing answers", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(purgeCdn({ tag: "news" }, { url: `http://127.0.0.1:${port}/purge` })).rejects.toThrow(
      /did not answer the purge/,
    );
  });
});
