import { describe, expect, it } from "vitest";
import { isCaptureToken, pageSecrets, splitAtPlaceholder, withNonce } from "./nonce";
import { PageCache, type KeptPage } from "./page-cache";
import { readerKind } from "./reader";

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

const kept = (versions: string[], html = "<p>page</p>"): KeptPage => ({
  versions,
  page: [Buffer.from(html)],
  headers: [["content-type", "text/html; charset=utf-8"]],
});

describe("PageCache", () => {
  it("serves a page only for the exact versions it was rendered from", () => {
    const cache = new PageCache({ maxBytes: 1 << 20 });
    cache.keep("/ person", kept(["v1", "v2"]));
    expect(cache.find("/ person", ["v1", "v2"])).toBeDefined();
    expect(cache.find("/ person", ["v1", "v3"])).toBeUndefined();
    expect(cache.find("/ person", ["v1"])).toBeUndefined();
    expect(cache.find("/ crawler", ["v1", "v2"])).toBeUndefined();
    expect(cache.stats).toEqual({ served: 1, kept: 1 });
  });

  it("renders a key to keep on its second miss, one rendering at a time", () => {
    const cache = new PageCache({ maxBytes: 1 << 20 });
    expect(cache.shouldCapture("/?q=1 person")).toBe(false);
    expect(cache.shouldCapture("/?q=1 person")).toBe(true);
    expect(cache.shouldCapture("/?q=1 person")).toBe(false);
    cache.captured("/?q=1 person");
    expect(cache.shouldCapture("/?q=1 person")).toBe(true);
  });

  it("stays within its bytes, dropping the least recently served pages", () => {
    const cache = new PageCache({ maxBytes: 64 * 1024 });
    const big = "x".repeat(10 * 1024);
    for (let page = 0; page < 10; page += 1) cache.keep(`/?p=${page} person`, kept(["v"], big));
    expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(cache.size).toBeLessThan(7);
    expect(cache.find("/?p=9 person", ["v"])).toBeDefined();
    expect(cache.find("/?p=0 person", ["v"])).toBeUndefined();
  });
});

describe("the nonce placeholder", () => {
  it("is a nonce Next accepts, secret to the process, and replaced everywhere in a page", () => {
    const { placeholder, captureToken } = pageSecrets();
    expect(placeholder).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(pageSecrets().placeholder).toBe(placeholder);
    expect(captureToken).not.toBe(placeholder);
    expect(isCaptureToken(captureToken)).toBe(true);
    expect(isCaptureToken(placeholder)).toBe(false);
    expect(isCaptureToken(null)).toBe(false);
    const html = `<script nonce="${placeholder}"></script><style nonce="${placeholder}"></style>{"nonce":"${placeholder}"} · é`;
    const page = splitAtPlaceholder(html, placeholder);
    const first = Buffer.from(withNonce(page, "bm9uY2UtMQ==")).toString();
    const second = Buffer.from(withNonce(page, "bm9uY2UtMg==")).toString();
    expect(first).not.toContain(placeholder);
    expect(first.match(/bm9uY2UtMQ==/g)).toHaveLength(3);
    expect(first).toBe(html.replaceAll(placeholder, "bm9uY2UtMQ=="));
    expect(second).not.toContain("bm9uY2UtMQ==");
  });
});

describe("readerKind", () => {
  it("tells a person from a crawler as the page does, and Next's bots apart as Next does", () => {
    expect(readerKind(CHROME)).toBe("person/browser");
    expect(readerKind(null)).toBe(readerKind(""));
    expect(readerKind("curl/8.5.0")).toMatch(/^crawler\//);
    expect(readerKind("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")).toBe("crawler/dom");
    expect(readerKind("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")).toBe("crawler/html");
  });
});
