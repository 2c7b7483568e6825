import { request } from "node:http";
import type IORedis from "ioredis";
import { expect, test } from "./fixtures";

const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";
const SEED = 0x5eed_2026;
const VALID_NAMES = ["a", "b"];
const MAX_REQUESTS = { invalid: 360, mixed: 200 };
const BUDGET_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** mulberry32: a tiny seeded PRNG, so every run sends the same requests. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    bytes(length: number) {
      const buffer = Buffer.alloc(length);
      for (let i = 0; i < length; i += 1) buffer[i] = int(256);
      return buffer;
    },
  };
}
type Random = ReturnType<typeof prng>;

type Probe = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Why it was sent, for failure messages. */
  what: string;
  /** A read the app should serve: 200 (202/502 for fragments). */
  validRead?: boolean;
  /** An authorised, well-formed purge: 200. */
  validPurge?: boolean;
};

type Answer = { status: number; location?: string; error?: string };

/** Sends exactly these bytes of path, method and body (fetch refuses TRACE and rewrites paths). */
function send(port: number, probe: Probe): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: Answer) => {
      if (!settled) {
        settled = true;
        resolve(answer);
      }
    };
    const headers = { ...probe.headers, ...(probe.body ? { "content-length": String(probe.body.length) } : {}) };
    const req = request(
      { host: "127.0.0.1", port, method: probe.method, path: probe.path, headers, agent: false },
      (response) => {
        response.resume();
        const answer = { status: response.statusCode ?? 0, location: response.headers.location };
        response.on("end", () => finish(answer));
        // The server may close right after answering, before a large body was read: the answer stands.
        response.on("error", () => finish(answer));
        req.on("error", () => finish(answer));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      finish({ status: 0, error: "timeout" });
      req.destroy();
    });
    req.on("error", (error) => finish({ status: 0, error: String(error) }));
    req.end(probe.body);
  });
}

const FRAGMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const BAD_NAMES = [
  "a%2Fb",
  "a%2fb",
  "..%2F..%2Fetc%2Fpasswd",
  "a.b",
  ".hidden",
  "a%00",
  "%00",
  "a%0Ab",
  "a%0D%0AX-Injected:%201",
  "%09",
  "a%20b",
  "a+b",
  "%E2%9C%93",
  "%C3%A9",
  "\u00e9",
  "caf\u00e9",
  "%F0%9F%98%80",
  "%FF",
  "%C0%AF",
  "a%",
  "%",
  "%%",
  "%Z",
  "%zz",
  "%2",
  "a%2",
  "%u0041",
  "a;b",
  "a,b",
  "a'b",
  'a"b',
  "a<b",
  "a>b",
  "a`b",
  "a|b",
  "a\\b",
  "a:b",
  "a@b",
  "a$b",
  "a*b",
  "a!b",
  "a(b)",
  "a~b",
  "a=b",
  "a&b",
  "x".repeat(65),
  "y".repeat(500),
  "z".repeat(4000),
];
const NAME_ALPHABET = "abcXYZ019_-.%/:;~!$&'()*+,=@\u00e9\u00ff";
// Dot segments ("/fragment/..") are left out: URL resolution makes them other, valid paths before the app
// sees them. TRACE is left out too: Next's proxy adapter throws on it before proxy.ts runs (a 500 nothing
// in the app can prevent); nginx and Vercel refuse TRACE at the edge, and the README says to.
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;
const CONTENT_TYPES = [
  undefined,
  "application/json",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----fuzz",
  "multipart/form-data",
  "application/octet-stream",
  "text/x-component",
];
const JSON_BODIES = [
  "{",
  "}",
  "[",
  '{"fragment":',
  '{"all":true',
  "null",
  "true",
  "0",
  "-1e309",
  '"all"',
  "[]",
  '[{"all":true}]',
  "{}",
  '{"all":false}',
  '{"all":1}',
  '{"all":"true"}',
  '{"all":null}',
  '{"fragment":null}',
  '{"fragment":1}',
  '{"fragment":["a"]}',
  '{"fragment":{"x":1}}',
  '{"fragment":"a/b"}',
  '{"fragment":"../a"}',
  '{"fragment":""}',
  '{"fragment":"a","all":true}',
  '{"fragment":"a","x":1}',
  '{"__proto__":{"all":true}}',
  '{"constructor":{"prototype":{}}}',
  '{"all":true,"all":false}',
  '{"fragment":"a\\u0000"}',
  '{"fragment":"\\ud800"}',
  '\ufeff{"all":true}',
];

function randomName(random: Random): string {
  if (random.chance(0.6)) return random.pick(BAD_NAMES);
  const length = random.pick([0, 1, 2, 5, 63, 64, 65, 66, 200]);
  let name = "";
  for (let i = 0; i < length; i += 1) name += NAME_ALPHABET[random.int(NAME_ALPHABET.length)];
  return name;
}

function randomBody(random: Random): Buffer | undefined {
  switch (random.int(6)) {
    case 0:
      return undefined;
    case 1:
      return random.bytes(random.pick([1, 17, 1023, 1024, 1025, 4096]));
    case 2:
      return random.bytes(random.pick([16 * 1024, 64 * 1024]));
    case 3:
      return Buffer.from(random.pick(JSON_BODIES));
    case 4:
      return Buffer.from(JSON.stringify({ fragment: "a", pad: "x".repeat(random.pick([900, 1100, 60_000])) }));
    default:
      return Buffer.from(
        `------fuzz\r\nContent-Disposition: form-data; name="x"\r\n\r\n${"\u0000".repeat(random.int(8))}`,
      );
  }
}

function randomHeaders(random: Random, body: Buffer | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const contentType = random.pick(CONTENT_TYPES);
  if (contentType && (body || random.chance(0.2))) headers["content-type"] = contentType;
  const auth = random.pick([
    undefined,
    undefined,
    "Bearer wrong-token-wrong-token",
    `Bearer ${ADMIN_TOKEN}x`,
    `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
    "Bearer ",
    `Bearer ${"t".repeat(4000)}`,
    `bearer ${ADMIN_TOKEN}`,
  ]);
  if (auth !== undefined) headers.authorization = auth;
  if (random.chance(0.1)) headers["next-action"] = random.pick(["x", "0".repeat(42), "deadbeef", "7f".repeat(21)]);
  if (random.chance(0.05)) headers["next-router-state-tree"] = random.pick(["garbage", "%5B%5D", "[[[["]);
  return headers;
}

/** A request the app must refuse before any cache, store or upstream work. */
function invalidProbe(random: Random): Probe {
  const body = randomBody(random);
  const headers = randomHeaders(random, body);
  const kind = random.int(6);
  if (kind <= 1) {
    const name = randomName(random);
    const method = random.pick(METHODS);
    const valid = FRAGMENT_NAME.test(name);
    // A valid name is only invalid traffic with a method other than a read.
    const safeMethod = valid && (method === "GET" || method === "HEAD") ? "DELETE" : method;
    return {
      method: safeMethod,
      path: `/fragment/${name}`,
      headers,
      body,
      what: `fragment name ${JSON.stringify(name.slice(0, 40))}`,
    };
  }
  if (kind === 2) {
    const path = random.pick([
      "/api/health",
      "/api/health/live",
      "/api/health/ready",
      "/api/metrics",
      "/api/cache/purge",
      "/",
      "/blocking",
    ]);
    const method = random.pick(["PUT", "DELETE", "PATCH", "OPTIONS", "POST"] as const);
    return { method, path, headers, body, what: `${method} on ${path}` };
  }
  if (kind === 3) {
    // The purge route with a body that is not a valid target, or without the right token.
    const authorised = random.chance(0.5);
    const target = random.pick(JSON_BODIES);
    return {
      method: "POST",
      path: "/api/cache/purge",
      headers: { ...headers, ...(authorised ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}) },
      body: random.chance(0.7) ? Buffer.from(target) : body,
      what: `purge with ${authorised ? "the token" : "other auth"}`,
    };
  }
  if (kind === 4) {
    const path = random.pick([
      "/%",
      "/api/%zz",
      "/api/health%",
      "/blocking%2",
      "/%E0%A4%A",
      "/api/cache/purge%ZZ",
      "/%C0%AF%",
    ]);
    return { method: random.pick(METHODS), path, headers, body, what: `malformed percent-encoding ${path}` };
  }
  const path = random.pick([
    "/api",
    "/api/",
    "/api/cache",
    "/api/nothing",
    "/fragments/a",
    "/.env",
    "/.git/config",
    "/etc/passwd",
    "/api/health/x",
    "/api/health/live/x",
  ]);
  return { method: random.pick(METHODS), path, headers, body, what: `unknown path ${path}` };
}

/** Valid reads and purges mixed with invalid traffic. */
function mixedProbe(random: Random): Probe {
  if (random.chance(0.55)) return invalidProbe(random);
  const method = random.pick(["GET", "GET", "GET", "HEAD"] as const);
  switch (random.int(5)) {
    case 0:
      return {
        method,
        path: random.pick(["/", "/blocking", "/?x=%", "/?q=%00"]),
        headers: {},
        what: `${method} a page`,
        validRead: true,
      };
    case 1:
    case 2: {
      const name = random.pick(VALID_NAMES);
      return {
        method,
        path: `/fragment/${name}${random.pick(["", "?x=1", "?%"])}`,
        headers: {},
        what: `${method} fragment ${name}`,
        validRead: true,
      };
    }
    case 3:
      return {
        method,
        path: random.pick(["/api/health", "/api/health/live", "/api/health/ready", "/api/metrics"]),
        headers: {},
        what: `${method} API`,
        validRead: true,
      };
    default: {
      const body = random.pick([{ all: true }, { fragment: random.pick(VALID_NAMES) }, { fragment: "zz_not_shown" }]);
      return {
        method: "POST",
        path: "/api/cache/purge",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(body)),
        what: "authorised purge",
        validPurge: true,
      };
    }
  }
}

/** Why an answer breaks the contract, or undefined when it keeps it. */
function violation(probe: Probe, answer: Answer): string | undefined {
  const { status } = answer;
  // A server that answers before reading a large body may reset the connection while it is still being
  // sent, and the answer is lost on the way; the health check at the end shows the server is still up.
  if (answer.error && /ECONNRESET|EPIPE/.test(answer.error) && (probe.body?.length ?? 0) >= 16 * 1024) return undefined;
  if (answer.error) return answer.error;
  if ([400, 401, 403, 404, 405].includes(status)) return undefined;
  // A body the app does not take (any body but a purge's or the server action's, or one past 1 KiB), refused unread.
  if (status === 413 && (probe.body?.length ?? 0) > 0) return undefined;
  // Next's answer to a server action id this build does not know ("from another deployment").
  if (status === 409 && probe.method === "POST" && probe.headers["next-action"]) return undefined;
  // Next answers OPTIONS on route handlers itself, with an Allow header and no body.
  if (status === 204 && probe.method === "OPTIONS") return undefined;
  // Path normalisation (a trailing slash): a same-origin redirect that reaches nothing.
  if ((status === 307 || status === 308) && answer.location?.startsWith("/")) return undefined;
  if (probe.validRead && [200, 202, 502].includes(status)) return undefined;
  if (probe.validPurge && status === 200) return undefined;
  return `status ${status}`;
}

/** Redis commands processed per command name, from INFO commandstats (this client's INFO calls left out). */
async function commandCounts(client: IORedis): Promise<Map<string, number>> {
  const info = await client.info("commandstats");
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "info") counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

function difference(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [command, calls] of after)
    if (calls !== (before.get(command) ?? 0)) changed[command] = calls - (before.get(command) ?? 0);
  return changed;
}

test.use({ storeKind: "upstash" });

test("deterministic fuzz: bounded malformed traffic on every route never gets a 500 and never reaches the upstream or the store", async ({
  launch,
  upstream,
  redisStack,
}, testInfo) => {
  test.setTimeout(90_000);
  const app = await launch({
    FRAGMENTS: VALID_NAMES.join(","),
    CACHE_ADMIN_TOKEN: ADMIN_TOKEN,
    FRAGMENT_DEADLINE_MS: "2000",
    // The bus's heartbeat (a PUBLISH a second, whatever the traffic) would count as a command below.
    CACHE_BUS: "off",
  });
  const client = redisStack!.client;
  const random = prng(SEED);
  const started = performance.now();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const record = (probe: Probe, answer: Answer) => {
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const problem = violation(probe, answer);
    if (problem)
      failures.push(
        `${problem}: ${probe.method} ${probe.path.slice(0, 60)} (${probe.what}, body ${probe.body?.length ?? 0} B, headers ${Object.keys(probe.headers).join(",")})`,
      );
  };

  // Phase 1: invalid traffic only. Nothing may reach the upstream or Redis.
  const commandsBefore = await commandCounts(client);
  let sent = 0;
  while (sent < MAX_REQUESTS.invalid && performance.now() - started < BUDGET_MS / 2) {
    const probe = invalidProbe(random);
    record(probe, await send(app.port, probe));
    sent += 1;
  }
  const invalidSent = sent;
  const commandsAfter = await commandCounts(client);
  const upstreamAfterInvalid = upstream.calls();
  const invalidNamesUpstream = upstream.calls() - VALID_NAMES.reduce((sum, name) => sum + upstream.calls(name), 0);

  // Phase 2: the same mixed with valid reads and purges; statuses only.
  while (sent < MAX_REQUESTS.invalid + MAX_REQUESTS.mixed && performance.now() - started < BUDGET_MS) {
    const probe = mixedProbe(random);
    record(probe, await send(app.port, probe));
    sent += 1;
  }
  const elapsed = Math.round(performance.now() - started);
  const summary = `${sent} requests (${invalidSent} invalid-only) in ${elapsed} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`;
  testInfo.annotations.push({ type: "fuzz", description: summary });
  console.info(summary);

  const distinct = [
    ...new Set(
      failures.map((failure) => failure.replace(/ \(.*$/, "").replace(/^(status \d+: \w+ \/fragment\/).*/, "$1<name>")),
    ),
  ];
  expect
    .soft(distinct, `contract violations (${failures.length}); first ones:\n${failures.slice(0, 15).join("\n")}`)
    .toEqual([]);
  expect.soft(invalidNamesUpstream, "an invalid fragment name reached the upstream").toBe(0);
  expect.soft(upstreamAfterInvalid, "invalid-only traffic called the upstream").toBe(0);
  expect.soft(difference(commandsBefore, commandsAfter), "Redis commands during invalid-only traffic").toEqual({});
  expect.soft(app.output(), "the app logged no unhandled error").not.toMatch(/unhandled|⨯/i);
  expect(elapsed).toBeLessThan(BUDGET_MS + REQUEST_TIMEOUT_MS);
  expect(sent).toBeGreaterThanOrEqual(300);
  // The app is still healthy afterwards.
  expect((await fetch(`${app.url}/api/health`)).status).toBe(200);
});
