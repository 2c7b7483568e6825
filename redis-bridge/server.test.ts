import { Redis, errors, type RedisConfigNodejs } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedisServerHandle, startRedisServer } from "../harness/redis-server";
import { type Bridge, createBridge } from "./server";

const TOKEN = "bridge-test-token";
const TRICKY_STRINGS = [
  "abcd", // valid base64 itself: would decode to garbage if the bridge forgot to encode
  "123",
  "true",
  "null",
  "undefined",
  "OK",
  "PONG",
  "T0s=",
  "",
  "héllo ✓ 漢字 😀",
  "  padded \n lines  ",
  '{"looks":"like json"}',
];

let redisServer: RedisServerHandle;
let bridge: Bridge;

beforeAll(async () => {
  redisServer = await startRedisServer();
  bridge = await createBridge({ redisUrl: redisServer.url, token: TOKEN });
});

afterAll(async () => {
  await bridge?.close();
  await redisServer?.stop();
});

beforeEach(async () => {
  expect((await post("/", ["flushall"])).status).toBe(200);
  bridge.resetStats();
});

function upstash(config: Partial<RedisConfigNodejs> = {}): Redis {
  return new Redis({ url: bridge.url, token: TOKEN, retry: false, enableTelemetry: false, ...config });
}

type PostOptions = { token?: string | null; base64?: boolean; rawBody?: BodyInit; method?: string };
type RawResponse = { status: number; body: unknown; elapsedMs: number };

async function post(path: string, body: unknown, options: PostOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (options.base64) headers["Upstash-Encoding"] = "base64";
  const method = options.method ?? "POST";
  const started = Date.now();
  const response = await fetch(`${bridge.url}${path}`, {
    method,
    headers,
    body: method === "GET" ? undefined : (options.rawBody ?? JSON.stringify(body)),
    ...(options.rawBody instanceof ReadableStream ? { duplex: "half" } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), elapsedMs: Date.now() - started };
}

function base64(value: string | Buffer): string {
  return Buffer.from(value).toString("base64");
}

const NOT_AN_INTEGER = "ERR value is not an integer or out of range";
// Status replies ("OK", "PONG") nested at several depths, an integer and a nil (Lua false).
const NESTED_SCRIPT =
  "return {redis.call('set', KEYS[1], ARGV[1]), 42, {'inner', {'deeper', redis.call('ping')}}, false}";
const NESTED_REPLY = ["OK", 42, ["inner", ["deeper", "PONG"]], null];

describe("through the real @upstash/redis client", () => {
  it.each([
    ["single requests", { enableAutoPipelining: false }],
    ["auto-pipelined requests", { enableAutoPipelining: true }],
  ])("round-trips tricky strings exactly over %s", async (_, config) => {
    const redis = upstash({ ...config, automaticDeserialization: false });
    for (const [index, value] of TRICKY_STRINGS.entries()) {
      expect(await redis.set(`k${index}`, value)).toBe("OK");
      expect(await redis.get(`k${index}`)).toBe(value);
    }
  });

  it("stores JSON values the client serialises and reads them back", async () => {
    const redis = upstash();
    const value = { title: "héllo ✓", count: 3, tags: ["a", "漢字"], nested: { ok: true, none: null } };
    await redis.set("json", value);
    expect(await redis.get("json")).toEqual(value);
    await redis.set("text", "plain words");
    expect(await redis.get("text")).toBe("plain words");
  });

  it("decodes status replies and nested arrays exactly", async () => {
    const redis = upstash({ automaticDeserialization: false });
    expect(await redis.ping()).toBe("PONG");
    await redis.set("s", "v");
    expect(await redis.type("s")).toBe("string");
    expect(await redis.eval(NESTED_SCRIPT, ["nested"], ["value"])).toEqual(NESTED_REPLY);
    expect(await redis.get("nested")).toBe("value");
  });

  it("keeps RESP2 reply shapes the client expects for hashes and scores", async () => {
    const redis = upstash();
    await redis.hset("h", { name: "ada", visits: 3 });
    expect(await redis.hgetall("h")).toEqual({ name: "ada", visits: 3 });
    await redis.zadd("z", { score: 1.5, member: "m1" }, { score: 2, member: "m2" });
    expect(await redis.zrange("z", 0, -1, { withScores: true })).toEqual(["m1", 1.5, "m2", 2]);
    expect(await redis.zscore("z", "m1")).toBe(1.5);
  });

  it("sends same-tick commands as one pipeline request per kind (reads, writes)", async () => {
    const redis = upstash();
    await redis.set("a", "1");
    bridge.resetStats();

    expect(await Promise.all([redis.get("a"), redis.get("b"), redis.exists("a", "b")])).toEqual([1, null, 1]);
    expect(bridge.stats()).toEqual({ requests: 1, commands: 3, byCommand: { get: 2, exists: 1 } });

    bridge.resetStats();
    await Promise.all([redis.incr("c"), redis.incr("c"), redis.get("a")]);
    expect(bridge.stats()).toMatchObject({ requests: 2, commands: 3 });
    expect(await redis.get("c")).toBe(2);
  });

  it("runs an explicit pipeline, with per-command errors", async () => {
    const redis = upstash();
    expect(await redis.pipeline().set("p", "v").incr("n").get("p").exec()).toEqual(["OK", 1, "v"]);

    const failing = () => redis.pipeline().set("s", "abc").incr("s").get("s");
    await expect(failing().exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    const kept = await failing().exec({ keepErrors: true });
    expect(kept.map((entry) => entry.error)).toEqual([undefined, NOT_AN_INTEGER, undefined]);
    expect(kept[2]?.result).toBe("abc");
  });

  it("runs a MULTI/EXEC transaction, with runtime errors reported per command", async () => {
    const redis = upstash();
    expect(await redis.multi().set("m", "1").incr("m").get("m").exec()).toEqual(["OK", 2, 2]);

    const kept = await redis.multi().set("s", "abc").incr("s").get("s").exec({ keepErrors: true });
    expect(kept.map((entry) => entry.error)).toEqual([undefined, NOT_AN_INTEGER, undefined]);
    expect(kept[2]?.result).toBe("abc");
  });

  it("sets with an expiry and reads the TTL", async () => {
    const redis = upstash();
    expect(await redis.set("ttl", "v", { ex: 60 })).toBe("OK");
    const ttl = await redis.ttl("ttl");
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.ttl("missing")).toBe(-2);
  });

  it("evaluates Lua with keys and numeric arguments", async () => {
    const redis = upstash();
    const script = "return redis.call('incrby', KEYS[1], ARGV[1])";
    expect(await redis.eval(script, ["counter"], [5])).toBe(5);
    expect(await redis.eval(script, ["counter"], [7])).toBe(12);
  });

  it("throws on a bad token", async () => {
    await expect(upstash({ token: "wrong-token" }).get("x")).rejects.toThrow(/Unauthorized/);
    await expect(upstash({ token: "wrong-token", enableAutoPipelining: false }).get("x")).rejects.toThrow(
      /Unauthorized/,
    );
  });

  it("throws an UpstashError carrying the Redis message on an error reply", async () => {
    const redis = upstash({ enableAutoPipelining: false });
    await redis.set("s", "abc");
    const failure = redis.incr("s");
    await expect(failure).rejects.toBeInstanceOf(errors.UpstashError);
    await expect(failure).rejects.toThrow(/ERR value is not an integer or out of range/);
    await expect(upstash().incr("s")).rejects.toThrow(/Command failed: ERR value is not an integer/);
  });
});

describe("raw protocol", () => {
  it("answers plain UTF-8 JSON without the base64 header", async () => {
    const text = "héllo ✓ 漢字 😀";
    expect(await post("/", ["set", "k", text, "ex", 60])).toMatchObject({ status: 200, body: { result: "OK" } });
    expect((await post("/", ["get", "k"])).body).toEqual({ result: text });
    expect((await post("/", ["incrby", "n", 41])).body).toEqual({ result: 41 });
    expect((await post("/", ["set", "flag", true])).body).toEqual({ result: "OK" });
    expect((await post("/", ["get", "flag"])).body).toEqual({ result: "true" });
    expect((await post("/", ["get", "missing"])).body).toEqual({ result: null });
    expect((await post("/", ["eval", NESTED_SCRIPT, 1, "nested", "v"])).body).toEqual({
      result: NESTED_REPLY,
    });
  });

  it("base64-encodes every string at any depth, leaving numbers and nil alone", async () => {
    const opts = { base64: true };
    expect((await post("/", ["set", "k", "abcd"], opts)).body).toEqual({ result: base64("OK") });
    expect((await post("/", ["get", "k"], opts)).body).toEqual({ result: base64("abcd") });
    expect((await post("/", ["get", "missing"], opts)).body).toEqual({ result: null });
    expect((await post("/", ["incr", "n"], opts)).body).toEqual({ result: 1 });
    expect((await post("/", ["set", "empty", ""], opts)).status).toBe(200);
    expect((await post("/", ["get", "empty"], opts)).body).toEqual({ result: "" });
    expect((await post("/", ["eval", NESTED_SCRIPT, 1, "nested", "v"], opts)).body).toEqual({
      result: [base64("OK"), 42, [base64("inner"), [base64("deeper"), base64("PONG")]], null],
    });
  });

  it("encodes binary replies byte for byte", async () => {
    const binary = ["eval", "return string.char(0, 255, 128, 10)", 0];
    const bytes = Buffer.from([0, 255, 128, 10]);
    expect((await post("/", binary, { base64: true })).body).toEqual({ result: base64(bytes) });
    expect((await post("/", binary)).body).toEqual({ result: "\u0000\uFFFD\uFFFD\n" });
  });

  it("runs /pipeline in order with per-command errors in plain text", async () => {
    const commands = [
      ["set", "s", "abc"],
      ["incr", "s"],
      ["get", "s"],
      ["get", "missing"],
    ];
    expect(await post("/pipeline", commands, { base64: true })).toEqual({
      status: 200,
      elapsedMs: expect.any(Number),
      body: [{ result: base64("OK") }, { error: NOT_AN_INTEGER }, { result: base64("abc") }, { result: null }],
    });
  });

  it("runs /multi-exec atomically and rejects a transaction aborted at queue time", async () => {
    const commands = [
      ["set", "t", "1"],
      ["incr", "t"],
      ["incr", "s"],
      ["set", "s", "x"],
      ["incr", "s"],
    ];
    expect(await post("/multi-exec", commands)).toMatchObject({
      status: 200,
      body: [{ result: "OK" }, { result: 2 }, { result: 1 }, { result: "OK" }, { error: NOT_AN_INTEGER }],
    });

    const aborted = await post("/multi-exec", [
      ["set", "u", "1"],
      ["set", "only-a-key"],
    ]);
    expect(aborted).toMatchObject({ status: 400, body: { error: "ERR wrong number of arguments for 'set' command" } });
    expect((await post("/", ["exists", "u"])).body).toEqual({ result: 0 });
  });

  it("answers an error reply with 400", async () => {
    await post("/", ["set", "s", "abc"]);
    expect(await post("/", ["incr", "s"])).toMatchObject({
      status: 400,
      body: { error: NOT_AN_INTEGER },
    });
    expect(await post("/", ["nosuchcommand"])).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/unknown command/) },
    });
  });

  it.each([
    ["a missing Authorization header", null],
    ["a wrong token", "wrong"],
    ["a longer token", `${TOKEN}-and-more`],
    ["an empty token", ""],
  ])("answers 401 for %s", async (_, token) => {
    expect(await post("/", ["get", "k"], { token })).toMatchObject({ status: 401, body: { error: "Unauthorized" } });
  });

  it.each<[string, string, unknown, BodyInit | undefined]>([
    ["invalid JSON", "/", undefined, "{nope"],
    ["an empty body", "/", undefined, ""],
    ["an object", "/", { command: "get" }, undefined],
    ["an empty command", "/", [], undefined],
    ["an empty command name", "/", [""], undefined],
    ["a numeric command name", "/", [1, "k"], undefined],
    ["a null argument", "/", ["get", null], undefined],
    ["an object argument", "/", ["set", "k", { a: 1 }], undefined],
    ["a nested array at /", "/", [["get", "k"]], undefined],
    ["an empty pipeline", "/pipeline", [], undefined],
    ["a pipeline of strings", "/pipeline", ["get", "k"], undefined],
    ["a pipeline with an empty command", "/pipeline", [["get", "k"], []], undefined],
    ["an object for multi-exec", "/multi-exec", { get: "k" }, undefined],
    ["a subscription", "/", ["subscribe", "channel"], undefined],
    ["a blocking pop", "/", ["blpop", "list", 0], undefined],
    ["a blocking stream read", "/", ["xread", "COUNT", 1, "BLOCK", 0, "STREAMS", "s", "$"], undefined],
    ["MULTI inside a pipeline", "/pipeline", [["multi"], ["get", "k"]], undefined],
    ["SELECT", "/", ["select", 1], undefined],
  ])("answers 400 for %s", async (_, path, body, rawBody) => {
    const response = await post(path, body, { rawBody });
    expect(response).toMatchObject({ status: 400, body: { error: expect.any(String) } });
  });

  it("allows a non-blocking stream read", async () => {
    await post("/", ["xadd", "s", "1-1", "field", "value"]);
    const response = await post("/", ["xread", "COUNT", 1, "STREAMS", "s", "0"]);
    expect(response).toMatchObject({ status: 200, body: { result: [["s", [["1-1", ["field", "value"]]]]] } });
  });

  it("answers 400 for a body over 1 MiB, declared or streamed, and keeps serving", async () => {
    const big = JSON.stringify(["set", "big", "x".repeat(1024 * 1024)]);
    expect(await post("/", undefined, { rawBody: big })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/exceeds/) },
    });

    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('["set","big","'));
        if (sent > 2 * 1024 * 1024) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    expect(await post("/", undefined, { rawBody: stream })).toMatchObject({ status: 400 });
    expect((await post("/", ["ping"])).body).toEqual({ result: "PONG" });
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    const notFound = await post("/get/k", undefined, { rawBody: "[]" });
    expect(notFound).toMatchObject({ status: 404, body: { error: "Not found" } });
    const wrongMethod = await post("/", undefined, { method: "GET" });
    expect(wrongMethod).toMatchObject({ status: 405, body: { error: expect.stringMatching(/POST/) } });
    expect(await post("/pipeline", undefined, { method: "GET" })).toMatchObject({ status: 405 });
  });
});

describe("stats", () => {
  it("counts requests and commands by lower-case name", async () => {
    const redis = upstash({ enableAutoPipelining: false });
    await redis.set("a", "1");
    await redis.get("a");
    await post("/pipeline", [
      ["GET", "a"],
      ["Incr", "n"],
    ]);
    await post("/multi-exec", [
      ["set", "b", "2"],
      ["get", "b"],
    ]);
    await post("/", ["get", "a"], { token: "wrong" });
    expect(bridge.stats()).toEqual({
      requests: 5,
      commands: 6,
      byCommand: { set: 2, get: 3, incr: 1 },
    });
    bridge.resetStats();
    expect(bridge.stats()).toEqual({ requests: 0, commands: 0, byCommand: {} });
  });
});

describe("when Redis goes away", () => {
  it("answers errors within a second, then recovers once Redis is back", async () => {
    await redisServer.stop();
    try {
      const single = await post("/", ["get", "k"]);
      expect(single).toMatchObject({ status: 503, body: { error: expect.stringMatching(/Redis unavailable/) } });
      expect(single.elapsedMs).toBeLessThan(1_000);
      expect(await post("/pipeline", [["get", "k"]])).toMatchObject({ status: 503 });
      expect(await post("/multi-exec", [["get", "k"]])).toMatchObject({ status: 503 });
      await expect(upstash().get("k")).rejects.toThrow(/Redis unavailable/);
    } finally {
      await redisServer.start();
    }
    await waitFor(async () => (await post("/", ["ping"])).status === 200, 3_000);
    const redis = upstash();
    await redis.set("back", "again");
    expect(await redis.get("back")).toBe("again");
  });
});

describe("createBridge", () => {
  it("rejects when its port is taken", async () => {
    const taken = createBridge({ redisUrl: redisServer.url, token: TOKEN, port: bridge.port });
    await expect(taken).rejects.toThrow(/EADDRINUSE/);
  });

  it("refuses an empty token", async () => {
    await expect(createBridge({ redisUrl: redisServer.url, token: "" })).rejects.toThrow(/token/);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
