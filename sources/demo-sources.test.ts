import { createElement, type FunctionComponent } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { checkSources, defineSource, SourceDataError, type Source } from "@/lib/source";
import { fetchEuroRates, fetchHeadlines, fetchLisbonWeather, fetchSearch } from "./demo-api";
import { headlines, headlinesSchema, HeadlinesView, type Headlines } from "./headlines";
import { definedSources } from "./index";
import { rates, ratesSchema, RatesView, type Rates } from "./rates";
import { search, searchSchema, SearchView, type Search } from "./search";
import { weather, weatherSchema, WeatherView, type Weather } from "./weather";

// The configuration is read on its first use, after this: the demo answers at once, from the simulator.
vi.stubEnv("SLOW_API_MAX_MS", "0");
vi.stubEnv("SLOW_API_URL", "");
afterAll(() => vi.unstubAllEnvs());

const signal = () => new AbortController().signal;

const demos: Array<{ source: Source; schema: z.ZodType; load: (signal: AbortSignal) => Promise<unknown> }> = [
  { source: weather, schema: weatherSchema, load: fetchLisbonWeather },
  { source: rates, schema: ratesSchema, load: fetchEuroRates },
  { source: headlines, schema: headlinesSchema, load: fetchHeadlines },
  { source: search, schema: searchSchema, load: fetchSearch },
];

function render<Data>(view: FunctionComponent<{ data: Data }>, data: Data): string {
  return renderToStaticMarkup(createElement(view, { data }));
}

function count(markup: string, pattern: RegExp): number {
  return markup.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

describe("the defined sources", () => {
  it("are the four demo sources, in page order, with unique names and a shared tag", () => {
    expect(checkSources(definedSources).map((source) => source.name)).toEqual([
      "weather",
      "rates",
      "headlines",
      "search",
    ]);
    expect(headlines.tags).toContain("news");
    expect(search.tags).toContain("news");
  });

  it.each(demos)("$source.name: the API's answer passes the schema", async ({ schema, load }) => {
    expect(schema.safeParse(await load(signal())).success).toBe(true);
  });

  it.each(demos)("$source.name: loads plain JSON data", async ({ source }) => {
    const data = await source.loadData(signal());
    expect(data).toStrictEqual(JSON.parse(JSON.stringify(data)));
  });

  it.each(demos)("$source.name: answers at once when SLOW_API_MAX_MS is 0", async ({ load }) => {
    const started = performance.now();
    await load(signal());
    expect(performance.now() - started).toBeLessThan(500);
  });

  it.each(demos)("$source.name: an aborted call rejects with the abort's reason", async ({ load }) => {
    const reason = new Error("gave up");
    await expect(load(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it("stops waiting as soon as the signal aborts mid-call", async () => {
    // A fresh configuration with a long cap, so the call is still waiting when it is aborted.
    vi.stubEnv("SLOW_API_MAX_MS", "60000");
    vi.resetModules();
    try {
      const api = await import("./demo-api");
      const controller = new AbortController();
      const started = performance.now();
      const call = api.fetchSearch(controller.signal);
      setTimeout(() => controller.abort(new Error("gave up")), 20);
      await expect(call).rejects.toThrow("gave up");
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      vi.stubEnv("SLOW_API_MAX_MS", "0");
    }
  });
});

describe("the schemas", () => {
  it("reshape the weather to camelCase, only the fields shown", async () => {
    const data = weatherSchema.parse(await fetchLisbonWeather(signal()));
    expect(Object.keys(data).sort()).toEqual([
      "city",
      "condition",
      "feelsLikeC",
      "hours",
      "humidity",
      "observedAt",
      "temperatureC",
      "windKph",
    ]);
    expect(data.city).toBe("Lisbon");
    expect(data.hours).toHaveLength(6);
  });

  it("keep the four rates in order and drop the others", async () => {
    const data = ratesSchema.parse(await fetchEuroRates(signal()));
    expect(data.base).toBe("EUR");
    expect(data.rates.map((rate) => rate.currency)).toEqual(["USD", "GBP", "JPY", "CHF"]);
  });

  it("keep five headlines and the search's three results", async () => {
    expect(headlinesSchema.parse(await fetchHeadlines(signal())).stories).toHaveLength(5);
    const data = searchSchema.parse(await fetchSearch(signal()));
    expect(data.query).toBe("streaming server rendering");
    expect(data.results).toHaveLength(3);
  });

  it("refuse malformed weather", async () => {
    const raw = await fetchLisbonWeather(signal());
    expect(weatherSchema.safeParse({ ...raw, current: { ...raw.current, temp_c: "18.2" } }).success).toBe(false);
    expect(weatherSchema.safeParse({ ...raw, forecast: { hourly: [] } }).success).toBe(false);
  });

  it("refuse malformed rates", async () => {
    const raw = await fetchEuroRates(signal());
    const withoutYen = Object.fromEntries(Object.entries(raw.rates).filter(([currency]) => currency !== "JPY"));
    expect(ratesSchema.safeParse({ ...raw, rates: withoutYen }).success).toBe(false);
    expect(ratesSchema.safeParse({ ...raw, rates: { ...raw.rates, USD: -1 } }).success).toBe(false);
    expect(ratesSchema.safeParse({ ...raw, success: false }).success).toBe(false);
  });

  it("refuse malformed headlines, and links that are not web links", async () => {
    const raw = await fetchHeadlines(signal());
    const [first, ...rest] = raw.articles;
    expect(
      headlinesSchema.safeParse({ ...raw, articles: [{ ...first, url: "javascript:alert(1)" }, ...rest] }).success,
    ).toBe(false);
    expect(
      headlinesSchema.safeParse({ ...raw, articles: [{ ...first, published_at: "yesterday" }, ...rest] }).success,
    ).toBe(false);
  });

  it("refuse a malformed search", async () => {
    const raw = await fetchSearch(signal());
    expect(searchSchema.safeParse({ ...raw, search_information: { total_results: -1 } }).success).toBe(false);
    expect(searchSchema.safeParse({ ...raw, organic_results: [{ title: "No link", snippet: "" }] }).success).toBe(
      false,
    );
  });

  it("make a source's load fail with a SourceDataError when its answer is refused", async () => {
    const broken = defineSource({
      name: "broken",
      title: "Broken",
      load: async () => ({ success: true }),
      schema: ratesSchema,
      render: RatesView,
    });
    await expect(broken.loadData(signal())).rejects.toBeInstanceOf(SourceDataError);
  });
});

describe("the renders", () => {
  it("show the weather as a temperature, its condition and a list of the next hours", () => {
    const data: Weather = {
      city: "Lisbon",
      observedAt: "2025-01-15T14:05:00.000Z",
      temperatureC: 17.6,
      feelsLikeC: 16.8,
      humidity: 64,
      windKph: 13.2,
      condition: "Sunny",
      hours: [
        { time: "2025-01-15T15:00:00.000Z", temperatureC: 18.2, rainChance: 5, condition: "Sunny" },
        { time: "2025-01-15T16:00:00.000Z", temperatureC: 17.4, rainChance: 5, condition: "Partly cloudy" },
      ],
    };
    const markup = render(WeatherView, data);
    expect(markup).toContain('<span class="weather-temp">18°C</span>');
    expect(markup).toContain("Sunny");
    expect(markup).toContain("humidity 64%");
    expect(markup).toContain("wind 13 km/h");
    expect(markup).toMatch(/<h3[^>]*>Next hours \(Lisbon time\)<\/h3>/);
    expect(count(markup, /<li>/)).toBe(2);
    // Lisbon keeps UTC in winter, whatever the server's time zone.
    expect(markup).toMatch(/<time dateTime="2025-01-15T15:00:00.000Z">15:00<\/time>/);
  });

  it("show the rates as a table with a row per currency", () => {
    const data: Rates = {
      base: "EUR",
      asOf: "2025-01-15T14:05:00.000Z",
      rates: [
        { currency: "USD", rate: 1.1582 },
        { currency: "GBP", rate: 0.8771 },
        { currency: "JPY", rate: 180.61 },
        { currency: "CHF", rate: 0.9325 },
      ],
    };
    const markup = render(RatesView, data);
    expect(markup).toMatch(/<thead><tr><th scope="col">Currency<\/th><th scope="col">Rate<\/th><\/tr><\/thead>/);
    const body = markup.slice(markup.indexOf("<tbody>"), markup.indexOf("</tbody>"));
    expect(count(body, /<tr>/)).toBe(4);
    expect(body).toContain('<th scope="row"><abbr title="US Dollar">USD</abbr></th><td>1.1582</td>');
    expect(body).toContain("<td>180.61</td>");
    expect(markup).toMatch(/as of <time dateTime="2025-01-15T14:05:00.000Z">14:05 UTC<\/time>/);
  });

  it("show the headlines as a list of links with their source and time", () => {
    const data: Headlines = {
      stories: [
        {
          title: "First story",
          source: "Example Wire",
          publishedAt: "2025-07-01T09:30:00.000Z",
          url: "https://news.example.com/first",
        },
        {
          title: "Second & last",
          source: "Daily Example",
          publishedAt: "2025-07-01T08:05:00.000Z",
          url: "https://www.example.org/second",
        },
      ],
    };
    const markup = render(HeadlinesView, data);
    expect(markup).toMatch(/^<ul class="headlines-list">/);
    expect(count(markup, /<li>/)).toBe(2);
    expect(markup).toContain('<a href="https://news.example.com/first">First story</a>');
    expect(markup).toContain('<a href="https://www.example.org/second">Second &amp; last</a>');
    expect(markup).toMatch(/Example Wire · <time dateTime="2025-07-01T09:30:00.000Z">09:30 UTC<\/time>/);
  });

  it("show the search as a count and an ordered list of results", () => {
    const data: Search = {
      query: "streaming server rendering",
      total: 1_234_567,
      results: [
        { title: "A guide", snippet: "How streaming works.", url: "https://developer.example.com/guides/streaming" },
        { title: "A post", snippet: "", url: "https://blog.example.org/" },
      ],
    };
    const markup = render(SearchView, data);
    expect(markup).toContain("About 1,234,567 results");
    expect(count(markup, /<li>/)).toBe(2);
    expect(markup).toMatch(
      /<ol class="search-results"><li><a href="https:\/\/developer.example.com\/guides\/streaming">A guide<\/a>/,
    );
    expect(markup).toContain("developer.example.com/guides/streaming");
    expect(markup).toContain('<p class="search-snippet">How streaming works.</p>');
    expect(render(SearchView, { ...data, total: 0, results: [] })).toContain(
      "No results for “streaming server rendering”.",
    );
  });

  it("render the demo's own data with no inline style and no page-level heading", async () => {
    for (const { source } of demos) {
      const markup = renderToStaticMarkup(await source.render({ data: await source.loadData(signal()) }));
      expect(markup.length).toBeGreaterThan(0);
      expect(markup).not.toMatch(/\sstyle=|<h[12][\s>]/);
    }
  });
});
