import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type * as Fragments from "./fragments";
import type * as TextSources from "./text-sources";

// Outside a request Next's after() throws; in the app it keeps a background load alive, which plain Node does anyway.
vi.mock("next/server", () => ({ after: (task: () => unknown) => void task() }));

let server: Server;
const requested: string[] = [];
let fragments: typeof Fragments;
let textSources: typeof TextSources.textSources;

beforeAll(async () => {
  server = createServer((request, response) => {
    requested.push(request.url ?? "");
    response.setHeader("connection", "close");
    response.end(`answer to ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // Read on first use: the runtime's upstream is this server.
  Object.assign(process.env, {
    SLOW_API_URL: `http://127.0.0.1:${port}/{query}?city={city}`,
    FRAGMENT_DEADLINE_MS: "5000",
  });
  fragments = await import("./fragments");
  ({ textSources } = await import("./text-sources"));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requested.length = 0;
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe("textSources", () => {
  it("makes one fragment per name, without parameters when the URL has no other placeholder", () => {
    const [news, sport] = fragments.fragmentsOf(textSources(["news", "sport"]));
    expect(news).toMatchObject({ name: "news", key: "news", params: undefined });
    expect(news!.source.title({})).toBe("Fragment news");
    expect(sport!.source.fixedTags).toEqual([]);
  });

  it("asks the upstream for the name, with each placeholder's parameter URL-encoded", async () => {
    const [weather] = fragments.fragmentsOf(textSources(["weather"], ["city"]));
    const part = fragments.partOf(weather!, { city: "São Paulo & co" });
    expect(part.title).toBe("Fragment weather (São Paulo & co)");
    expect(await fragments.lookUp(part).result).toMatchObject({
      status: "ready",
      data: "answer to /weather?city=S%C3%A3o%20Paulo%20%26%20co",
      origin: "miss",
    });
    expect(requested).toEqual(["/weather?city=S%C3%A3o%20Paulo%20%26%20co"]);
  });

  it("caches each parameter set apart and refuses a part without its parameter, asking nothing", async () => {
    const [rain] = fragments.fragmentsOf(textSources(["rain"], ["city"]));
    for (const city of ["porto", "paris", "porto"]) await fragments.lookUp(fragments.partOf(rain!, { city })).result;
    expect(requested).toEqual(["/rain?city=porto", "/rain?city=paris"]);
    const refused = await fragments.lookUp(fragments.partOf(rain!, {})).result;
    expect(refused).toMatchObject({ status: "refused", message: expect.stringMatching(/^city: /) });
    const tooLong = await fragments.lookUp(fragments.partOf(rain!, { city: "x".repeat(201) })).result;
    expect(tooLong).toMatchObject({ status: "refused", message: "city: must be at most 200 characters" });
    expect(requested).toHaveLength(2);
  });
});
