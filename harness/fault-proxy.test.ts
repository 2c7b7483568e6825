import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HoldAlreadyArmedError, startFaultProxy, type FaultProxy } from "./fault-proxy";
import { startRedisServer, type RedisServerHandle } from "./redis-server";

/** Polls `probe` until it returns true, at most `timeoutMs`. */
async function until(probe: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("in front of redis-server, through ioredis", () => {
  let redis: RedisServerHandle;
  let proxy: FaultProxy;
  let direct: Redis;
  const clients: Redis[] = [];

  const viaProxy = (options: { enableAutoPipelining?: boolean } = {}) => {
    const client = new Redis({ host: proxy.host, port: proxy.port, retryStrategy: () => null, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await startFaultProxy({ port: redis.port });
    direct = new Redis(redis.url);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await direct.flushall();
  });

  afterAll(async () => {
    direct?.disconnect();
    await proxy?.close();
    await redis?.stop();
  });

  it("passes commands through and counts the connection", async () => {
    proxy.resetStats();
    const client = viaProxy();
    await client.set("k", "v");
    expect(await client.get("k")).toBe("v");
    expect(proxy.stats().connections).toBe(1);
  });

  it("holds a reply whose command already ran, and keeps later replies behind it", async () => {
    const client = viaProxy();
    await client.ping();
    const held = proxy.holdNextReply(400);
    const sentAt = performance.now();
    const answered: string[] = [];
    const set = client.set("k", "v").then(() => answered.push("set"));
    const get = client.get("k").then(() => answered.push("get"));

    await until(async () => (await direct.get("k")) === "v", 200);
    expect(answered).toEqual([]);
    await Promise.all([set, get, held]);
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(400);
    expect(answered).toEqual(["set", "get"]);
  });

  it("delays only the connection that caught the hold", async () => {
    const slow = viaProxy();
    const fast = viaProxy();
    await Promise.all([slow.ping(), fast.ping()]);
    proxy.resetStats();
    const held = proxy.holdNextReply(400);
    let slowAnswered = false;
    const slowReply = slow.ping().then(() => (slowAnswered = true));
    await until(async () => proxy.stats().replies === 1);

    const startedAt = performance.now();
    expect(await fast.ping()).toBe("PONG");
    expect(performance.now() - startedAt).toBeLessThan(200);
    expect(slowAnswered).toBe(false);
    await Promise.all([slowReply, held]);
  });

  it("refuses a second hold while the first waits for a reply", async () => {
    const held = proxy.holdNextReply(10);
    expect(() => proxy.holdNextReply(10)).toThrow(HoldAlreadyArmedError);
    await viaProxy().ping();
    await held;
  });

  it("counts an auto-pipelined batch as one request and one reply", async () => {
    const client = viaProxy({ enableAutoPipelining: true });
    await client.ping();
    proxy.resetStats();
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => client.set(`k${i}`, "v")));
    expect(replies).toEqual(Array(10).fill("OK"));
    expect(proxy.stats()).toEqual({ connections: 0, requests: 1, replies: 1, replyBytes: 10 * "+OK\r\n".length });
  });

  it("counts awaited commands one by one", async () => {
    const client = viaProxy();
    await client.ping();
    proxy.resetStats();
    for (let i = 0; i < 3; i += 1) await client.set(`k${i}`, "v");
    expect(proxy.stats()).toEqual({ connections: 0, requests: 3, replies: 3, replyBytes: 3 * "+OK\r\n".length });
  });

  it("cuts the connection: a pending command fails and the client sees it closed", async () => {
    const client = viaProxy();
    await client.ping();
    proxy.resetStats();
    const held = proxy.holdNextReply(5_000);
    const pending = client.get("k");
    await until(async () => proxy.stats().replies === 1);
    const ended = once(client, "end");
    proxy.cut();
    await expect(pending).rejects.toThrow(/Connection is closed/);
    await ended;
    expect(client.status).toBe("end");
    await held;
  });
});

describe("in front of an HTTP server, through fetch", () => {
  let server: Server;
  let proxy: FaultProxy;

  beforeAll(async () => {
    server = createServer((_request, response) => response.end("hello"));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    proxy = await startFaultProxy({ port: (server.address() as AddressInfo).port });
  });

  afterAll(async () => {
    await proxy?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("makes a fetch time out on a held reply, and the next fetch works on a new connection", async () => {
    const url = `http://${proxy.host}:${proxy.port}/`;
    proxy.resetStats();
    expect(await (await fetch(url)).text()).toBe("hello");

    const held = proxy.holdNextReply(2_000);
    const startedAt = performance.now();
    await expect(fetch(url, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: "TimeoutError" });
    // undici destroys the socket of a request it aborts, which drops the held reply at once.
    await held;
    expect(performance.now() - startedAt).toBeLessThan(1_000);

    expect(await (await fetch(url)).text()).toBe("hello");
    // At least one new connection: undici may also open a spare one right after the abort, unasked.
    expect(proxy.stats()).toMatchObject({ requests: 3, replies: 3 });
    expect(proxy.stats().connections).toBeGreaterThanOrEqual(2);
  });
});
