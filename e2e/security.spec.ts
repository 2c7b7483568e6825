import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { devices } from "@playwright/test";
import { expect, test } from "./fixtures";

const ADMIN_TOKEN = "security-admin-token-0123456789abcdef";
const STATIC_DIR = join(__dirname, "..", ".next", "static");

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

const nonceOf = (policy: string | null) => /'nonce-([A-Za-z0-9+/=_-]+)'/.exec(policy ?? "")?.[1];

test.describe("secrets", () => {
  test.use({ storeKind: "upstash" });

  test("no server secret reaches the browser: page, scripts, RSC payloads, server action answers, built assets", async ({
    page,
    launch,
    upstream,
    redisStack,
  }) => {
    upstream.script("s1", { latencyMs: 100 });
    const releaseLate = upstream.hold("late");
    const app = await launch({ FRAGMENTS: "s1,late", FRAGMENT_DEADLINE_MS: "800", CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
    const secrets = {
      "Redis token": redisStack!.token,
      "Redis URL": redisStack!.bridgeUrl,
      "admin token": ADMIN_TOKEN,
      "upstream URL": upstream.urlTemplate.replace("/find/{query}", ""),
    };

    const bodies: Array<{ url: string; text: string }> = [];
    const pending: Array<Promise<unknown>> = [];
    page.on("response", (response) => {
      if (response.status() >= 300 && response.status() < 400) return;
      pending.push(
        response.body().then(
          (body) => bodies.push({ url: response.url(), text: body.toString("latin1") }),
          () => undefined,
        ),
      );
    });
    await page.goto(app.url);
    const late = page.getByRole("region", { name: "Fragment late" });
    await expect(late.getByRole("button", { name: "Retry late" })).toBeVisible();
    releaseLate();
    await expect.poll(() => upstream.answered("late")).toBe(1);
    await late.getByRole("button", { name: "Retry late" }).click();
    await expect(late.getByText("result for late", { exact: true })).toBeVisible();
    await Promise.all(pending);

    const rsc = await fetch(`${app.url}/`, { headers: { RSC: "1" } });
    expect(rsc.status).toBe(200);
    expect(rsc.headers.get("content-type")).toContain("text/x-component");
    bodies.push({ url: `${rsc.url} (RSC)`, text: await rsc.text() });
    for (const path of ["/fragment/s1", "/api/health", "/api/metrics", "/blocking"]) {
      const response = await fetch(`${app.url}${path}`);
      bodies.push({ url: path, text: await response.text() });
    }

    const kinds = new Set(
      bodies.map(({ url }) => (url.includes("/_next/static/") ? "static" : url.endsWith("(RSC)") ? "rsc" : "other")),
    );
    expect([...kinds].sort()).toEqual(["other", "rsc", "static"]);
    expect(
      bodies.some(({ text }) => text.includes("result for late")),
      "the server action's answer was collected",
    ).toBe(true);

    const leaks: string[] = [];
    for (const { url, text } of bodies) {
      for (const [what, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`${what} in ${url}`);
    }
    for (const file of await filesUnder(STATIC_DIR)) {
      const text = await readFile(file, "latin1");
      for (const [what, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`${what} in ${file}`);
      // Nothing server-side is bundled for the browser: no store client, no env names the server reads.
      for (const marker of [
        "UPSTASH_REDIS_REST",
        "KV_REST_API",
        "CACHE_ADMIN_TOKEN",
        "SLOW_API_URL",
        "@upstash/redis",
        "workerless:v4",
      ]) {
        if (text.includes(marker)) leaks.push(`${marker} in ${file}`);
      }
      // Values the build machine had, if any, must not have been inlined either.
      for (const name of ["UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_TOKEN", "CACHE_ADMIN_TOKEN"]) {
        const value = process.env[name];
        if (value && value.length >= 8 && text.includes(value)) leaks.push(`build-time ${name} in ${file}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});

test.describe("content security policy", () => {
  test("a fresh nonce per response, on every script the streamed HTML carries", async ({ launch, upstream }) => {
    upstream.script("c1", { latencyMs: 200 });
    upstream.script("c2", { latencyMs: 500 });
    const app = await launch({ FRAGMENTS: "c1,c2" });

    // As a browser: a client that runs no scripts (Node's fetch among them) gets the page without streaming.
    const asBrowser = { headers: { "user-agent": devices["Desktop Chrome"].userAgent } };
    const first = await fetch(`${app.url}/`, asBrowser);
    const second = await fetch(`${app.url}/`, asBrowser);
    const policies = [first.headers.get("content-security-policy"), second.headers.get("content-security-policy")];
    const nonces = policies.map(nonceOf);
    expect(nonces[0], policies[0] ?? "no CSP").toBeDefined();
    expect(nonces[1]).toBeDefined();
    expect(nonces[0]).not.toBe(nonces[1]);
    expect(nonces[0]!.length).toBeGreaterThanOrEqual(16);
    expect(policies[0]).toContain(`script-src 'self' 'nonce-${nonces[0]}' 'strict-dynamic'`);
    expect(policies[0]).toContain(`style-src 'self' 'nonce-${nonces[0]}'`);
    expect(policies[0]).toContain("object-src 'none'");
    expect(policies[0]).toContain("frame-ancestors 'none'");
    expect(policies[0]).not.toContain("unsafe-inline");
    expect(policies[0]).not.toContain("unsafe-eval");

    for (const [index, response] of [first, second].entries()) {
      const html = await response.text();
      // The streamed fragments (each with its own inline script) are part of this body.
      expect(html).toContain("result for c2");
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      const inline = scripts.filter((tag) => !/\bsrc=/.test(tag));
      expect(inline.length, "streaming emits inline scripts").toBeGreaterThan(2);
      for (const tag of scripts)
        expect(tag, "every script carries this response's nonce").toContain(`nonce="${nonces[index]}"`);
      // An inline <style> carries the nonce, or is one of the build's stylesheets, admitted by its hash.
      for (const [element, tag, text] of html.matchAll(/(<style\b[^>]*>)([\s\S]*?)<\/style>/g)) {
        const hash = `'sha256-${createHash("sha256").update(text!).digest("base64")}'`;
        expect(tag!.includes(`nonce="${nonces[index]}"`) || policies[index]!.includes(hash), element.slice(0, 80)).toBe(
          true,
        );
      }
      expect(html, "no inline style attributes").not.toMatch(/<[^>]+\sstyle="/);
    }
  });

  test("Chromium reports no violation and no console error, and the page hydrates: Retry works", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("h1", { latencyMs: 100 });
    const releaseLate = upstream.hold("late");
    const app = await launch({ FRAGMENTS: "h1,late", FRAGMENT_DEADLINE_MS: "800" });

    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener("securitypolicyviolation", (event) =>
        seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`),
      );
    });
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(`pageerror: ${error.message}`));

    await page.goto(app.url);
    await expect(
      page.getByRole("region", { name: "Fragment h1" }).getByText("result for h1", { exact: true }),
    ).toBeVisible();
    const late = page.getByRole("region", { name: "Fragment late" });
    const retry = late.getByRole("button", { name: "Retry late" });
    await expect(retry).toBeVisible();
    releaseLate();
    await expect.poll(() => upstream.answered("late")).toBe(1);
    await retry.click();
    await expect(late.getByText("result for late", { exact: true })).toBeVisible();
    await expect(retry).toHaveCount(0);

    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

test.describe("security headers", () => {
  const EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), browsing-topics=()",
    "cross-origin-opener-policy": "same-origin",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
  };

  test("on the page, a fragment, the API, a public file, a built asset and a rejected path", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "x" });
    const html = await (await fetch(`${app.url}/`)).text();
    const asset = /\/_next\/static\/[^"'\s]+\.js/.exec(html)?.[0];
    expect(asset, "the page links a built script").toBeDefined();

    const paths = [
      "/",
      "/fragment/x",
      "/api/health",
      "/api/metrics",
      "/spinner.svg",
      asset!,
      "/fragment/a.b",
      "/no-such-page",
    ];
    const missing: string[] = [];
    for (const path of paths) {
      const response = await fetch(`${app.url}${path}`);
      await response.arrayBuffer();
      for (const [name, value] of Object.entries(EXPECTED)) {
        if (response.headers.get(name) !== value)
          missing.push(`${path} (${response.status}): ${name} = ${response.headers.get(name)}`);
      }
      if (response.headers.get("x-powered-by") !== null) missing.push(`${path}: x-powered-by present`);
    }
    expect(missing).toEqual([]);
    for (const path of ["/", "/api/health"]) {
      const response = await fetch(`${app.url}${path}`);
      await response.arrayBuffer();
      expect(nonceOf(response.headers.get("content-security-policy")), `CSP on ${path}`).toBeDefined();
    }
    // A fragment a CDN may keep and serve to many readers carries one policy, with no nonce to serve twice.
    const policies = new Set<string | null>();
    for (let n = 0; n < 2; n += 1) {
      const response = await fetch(`${app.url}/fragment/x`);
      await response.arrayBuffer();
      policies.add(response.headers.get("content-security-policy"));
    }
    expect([...policies]).toEqual(["default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"]);
  });
});

test.describe("server action calls", () => {
  const asBrowser = devices["Desktop Chrome"].userAgent;

  /** The retry control's action id in this build, as the page's client code sends it. */
  async function retryActionId(): Promise<string> {
    const manifest = JSON.parse(
      await readFile(join(__dirname, "..", ".next", "server", "server-reference-manifest.json"), "utf8"),
    ) as {
      node: Record<string, { exportedName: string }>;
    };
    const id = Object.entries(manifest.node).find(([, action]) => action.exportedName === "retryFragment")?.[0];
    expect(id, "the build has the retry action").toBeDefined();
    return id!;
  }

  test("refused input gets an answer, never a 500, and the log no stack: at most one warn line per refused call", async ({
    launch,
    upstream,
  }) => {
    upstream.script("ra", { latencyMs: 10 });
    const app = await launch({ FRAGMENTS: "ra" });
    const id = await retryActionId();
    // As the retry control sends it: React's encoding of its arguments, as text, from the page's origin.
    const call = (body: string, origin = app.url) =>
      fetch(`${app.url}/`, {
        method: "POST",
        headers: {
          "next-action": id,
          "content-type": "text/plain;charset=UTF-8",
          accept: "text/x-component",
          origin,
          "user-agent": asBrowser,
        },
        body,
      });
    const logged = app.output().length;

    const cases = [
      { what: "a known name", body: '["ra"]', status: 200, shows: "result for ra" },
      {
        what: "a known name and its input, as the retry control sends them",
        body: '["ra",{}]',
        status: 200,
        shows: "result for ra",
      },
      { what: "an unknown name", body: '["zz"]', status: 200, shows: "This part (zz) could not be loaded." },
      { what: "a number", body: "[42]", status: 200, shows: "This part (unknown) could not be loaded." },
      { what: "an object", body: '[{"name":"ra"}]', status: 400 },
      { what: "broken JSON", body: '["ra"', status: 400 },
      // Past the action's 1 KiB: refused on its headers, before Next or the proxy reads it.
      { what: "a deeply nested array", body: `${"[".repeat(100_000)}${"]".repeat(100_000)}`, status: 413 },
      { what: "a reference to another part of the call", body: '["$1"]', status: 400 },
      { what: "another site's origin", body: '["ra"]', origin: "https://evil.example", status: 403 },
      { what: "another port's origin", body: '["ra"]', origin: `http://127.0.0.1:${app.port + 1}`, status: 403 },
      { what: "an opaque origin", body: '["ra"]', origin: "null", status: 403 },
      { what: "an origin that is no URL", body: '["ra"]', origin: "garbage", status: 403 },
    ];
    for (const { what, body, origin, status, shows } of cases) {
      const answer = await call(body, origin);
      const text = await answer.text();
      expect(answer.status, what).toBe(status);
      if (shows) expect(text, what).toContain(shows);
    }

    const output = app.output().slice(logged);
    expect(output, "no stack trace").not.toMatch(/^\s+at /m);
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    expect(
      lines.filter((line) => !line.startsWith("{")),
      "only the app's own JSON lines",
    ).toEqual([]);
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((event) => event.level === "error")).toEqual([]);
    // The two refusals the action answers itself are logged once each; the proxy's 400s and 403s not at all.
    expect(events.filter((event) => event.level === "warn")).toEqual([
      expect.objectContaining({ event: "retry_refused", key: "zz" }),
      expect.objectContaining({ event: "retry_refused", argument: "number" }),
    ]);
    expect(upstream.calls(), "only the known name reached the upstream").toBe(1);
  });
});

test.describe("every HTML response carries the policy", () => {
  // Paths that only start like a static file, and the addresses of Next's own error pages.
  const NEAR_MISSES = [
    "/favicon.ico",
    "/favicon.icox",
    "/icon.svgx",
    "/icon.svg/x",
    "/spinner.svgx",
    "/spinner.svg/x",
    "/noscript.cssx",
    "/_next/image",
    "/_next/imagex",
    "/_next/static",
    "/_next/staticx",
    "/_nextx/static/x.js",
    "/_global-error",
    "/_global-error.html",
    "/_not-found",
    "/404",
    "/500",
    "/_error",
    "/index.html",
  ];
  const asBrowser = { "user-agent": devices["Desktop Chrome"].userAgent };

  /** Why an answer is neither under this response's policy (every script with its nonce) nor a static file. */
  async function uncovered(response: Response): Promise<string | undefined> {
    const type = response.headers.get("content-type") ?? "";
    const body = await response.text();
    const nonce = nonceOf(response.headers.get("content-security-policy"));
    if (!nonce)
      return type.startsWith("text/html") || response.status !== 200
        ? `${response.status} ${type} without the policy`
        : undefined;
    const unsigned = (body.match(/<script\b[^>]*>/g) ?? []).filter((tag) => !tag.includes(`nonce="${nonce}"`));
    return unsigned.length === 0 ? undefined : `${unsigned.length} scripts without the nonce, e.g. ${unsigned[0]}`;
  }

  test("a path that only looks like a static file, and Next's error pages, get the policy and the method checks", async ({
    launch,
  }) => {
    const app = await launch({ FRAGMENTS: "x" });
    const html = await (await fetch(`${app.url}/`, { headers: asBrowser })).text();
    const asset = /\/_next\/static\/[^"'\s]+\.js/.exec(html)?.[0];
    expect(asset, "the page links a built script").toBeDefined();
    const files = [asset!, "/icon.svg", ...(await readdir(join(__dirname, "..", "public"))).map((file) => `/${file}`)];

    const problems: string[] = [];
    for (const path of [...NEAR_MISSES, ...files]) {
      const problem = await uncovered(await fetch(`${app.url}${path}`, { headers: asBrowser }));
      if (problem) problems.push(`${path}: ${problem}`);
    }
    for (const path of files) {
      const response = await fetch(`${app.url}${path}`);
      await response.arrayBuffer();
      if (response.status !== 200 || response.headers.get("content-type")?.startsWith("text/html"))
        problems.push(`${path}: not the file`);
    }
    for (const path of NEAR_MISSES) {
      // Without a body: one would be refused on its headers (413) before the method is looked at.
      const response = await fetch(`${app.url}${path}`, { method: "PUT" });
      await response.arrayBuffer();
      if (response.status !== 405) problems.push(`PUT ${path}: ${response.status}`);
    }
    expect(problems).toEqual([]);

    // Next's prerendered 500 page carries no nonce: asked for directly, it is an address with no page.
    const globalError = await fetch(`${app.url}/_global-error`, { headers: asBrowser });
    expect(globalError.status).toBe(404);
    expect(await globalError.text()).toContain("There is no page at this address.");
  });

  test("Chromium reports no violation on the not-found page, reached by any of these addresses", async ({
    page,
    launch,
  }) => {
    const app = await launch({ FRAGMENTS: "x" });
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener("securitypolicyviolation", (event) =>
        seen.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    for (const path of ["/_global-error", "/favicon.ico", "/icon.svg/x", "/_next/staticx"]) {
      const response = await page.goto(`${app.url}${path}`);
      expect(response?.status(), path).toBe(404);
      await expect(page.getByRole("heading", { name: "Not found" }), path).toBeVisible();
      // Next's client code ran (it sets window.next when it starts): the policy admitted its scripts.
      await page.waitForFunction(() => "next" in window);
      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations), path).toEqual(
        [],
      );
    }
  });
});
