import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startScriptedUpstream, type ScriptedUpstream } from "./upstream-server";

describe("the scripted upstream", () => {
  let upstream: ScriptedUpstream;
  const get = async (path: string) => (await fetch(upstream.urlTemplate.replace("/find/{query}", path))).text();

  beforeEach(async () => {
    upstream = await startScriptedUpstream();
  });
  afterEach(() => upstream.close());

  it("answers `result for <query>`, with the query string's parameters decoded when there are any", async () => {
    expect(await get("/find/a")).toBe("result for a");
    expect(await get("/find/a?city=s%C3%A3o%20paulo%20%26%20co")).toBe("result for a?city=são paulo & co");
  });

  it("counts a bare query's calls whatever their parameters, and a selector's only for its parameters", async () => {
    await get("/find/a?city=porto");
    await get("/find/a?city=porto&day=1");
    await get("/find/a?city=faro");
    await get("/find/a");
    await get("/find/b?city=porto");
    expect(upstream.calls()).toBe(5);
    expect(upstream.calls("a")).toBe(4);
    expect(upstream.calls("a?city=porto")).toBe(2);
    expect(upstream.calls("a?city=porto&day=1")).toBe(1);
    expect(upstream.calls(`a?${new URLSearchParams({ city: "faro" })}`)).toBe(1);
    expect(upstream.requests("a?city=porto").map((request) => request.url)).toEqual([
      "/find/a?city=porto",
      "/find/a?city=porto&day=1",
    ]);
  });

  it("holds and scripts one parameter set, the others going on as the bare query says", async () => {
    upstream.script("a", { body: "any city" });
    upstream.script("a?city=faro", { body: "faro" });
    const release = upstream.hold("a?city=porto");
    const porto = get("/find/a?city=porto");
    await upstream.waitForCalls("a?city=porto", 1);
    expect(await get("/find/a?city=faro")).toBe("faro");
    expect(await get("/find/a?city=braga")).toBe("any city");
    expect(upstream.waiting("a?city=porto")).toBe(1);
    expect(upstream.waiting("a")).toBe(1);
    expect(upstream.answered("a")).toBe(2);
    release();
    expect(await porto).toBe("any city");
    expect(upstream.waiting("a")).toBe(0);
    expect(upstream.lastCall("a?city=porto")?.answeredAt).toBeGreaterThan(0);
  });

  it("answers a list in turn, its last script every time after, with each script's headers", async () => {
    const url = upstream.urlTemplate.replace("{query}", "t");
    upstream.script("t", [
      { status: 429, headers: { "retry-after": "5" } },
      { headers: { "cache-control": "max-age=2" } },
    ]);
    const answers = [];
    for (let call = 0; call < 3; call += 1) answers.push(await fetch(url));
    expect(answers.map((answer) => answer.status)).toEqual([429, 200, 200]);
    expect(answers[0]!.headers.get("retry-after")).toBe("5");
    expect(answers.slice(1).map((answer) => answer.headers.get("cache-control"))).toEqual(["max-age=2", "max-age=2"]);
    expect(answers[1]!.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await answers[2]!.text()).toBe("result for t");
    // Scripting the selector again starts its list over.
    upstream.script("t", [{ status: 404 }, {}]);
    expect((await fetch(url)).status).toBe(404);
  });

  it("counts requests per second from the first, and the most in any sliding window", async () => {
    expect(upstream.callsPerSecond()).toEqual([]);
    expect(upstream.busiestWindow(1000)).toBe(0);
    await Promise.all([get("/find/a"), get("/find/a"), get("/find/b")]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await get("/find/a");
    expect(upstream.callsPerSecond()).toEqual([3, 1]);
    expect(upstream.callsPerSecond("a")).toEqual([2, 1]);
    expect(upstream.busiestWindow(1000)).toBe(3);
    expect(upstream.busiestWindow(5000)).toBe(4);
    expect(upstream.busiestWindow(1000, "b")).toBe(1);
  });
});
