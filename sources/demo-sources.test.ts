import { createElement, type FunctionComponent } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import type { Params } from "@/lib/params";
import { checkSources, defineSource, SourceDataError, type Source } from "@/lib/source";
import { CITIES, type City, fetchEuroRates, fetchHeadlines, fetchSearch, fetchWeather, SEARCH_QUERY } from "./demo-api";
import { headlines, headlinesSchema, HeadlinesView, type Headlines } from "./headlines";
import { definedSources } from "./index";
import { rates, ratesSchema, RatesView, type Rates } from "./rates";
import { search, searchSchema, SearchView, type Search } from "./search";
import { CITY_NAMES, weather, weatherSchema, WeatherView, type Weather } from "./weather";

/** A loader's `set`, for calls whose settings no test reads. */
const noSettings = () => {};

// The configuration is read on its first use, after this: the demo answers at once, from the simulator.
vi.stubEnv("SLOW_API_MAX_MS", "0");
vi.stubEnv("SLOW_API_URL", "");
afterAll(() => vi.unstubAllEnvs());

const signal = () => new AbortController().signal;

const demos: Array<{ source: Source; schema: z.ZodType; load: (signal: AbortSignal) => Promise<unknown> }> = [
  { source: weather, schema: weatherSchema, load: (signal) => fetchWeather("lisbon", signal) },
  { source: rates, schema: ratesSchema, load: fetchEuroRates },
  { source: headlines, schema: headlinesSchema, load: fetchHeadlines },
  { source: search, schema: searchSchema, load: (signal) => fetchSearch(SEARCH_QUERY, signal) },
];

/** A source's parameters for `input`, as the page would parse them from its search parameters. */
function paramsOf(source: Source, input: Record<string, string> = {}): Params {
  return (source.params?.parse(input) ?? {}) as Params;
}

/** Where each city's hours are told. */
const TIME_ZONES: Record<City, string> = {
  lisbon: "Europe/Lisbon",
  porto: "Europe/Lisbon",
  madrid: "Europe/Madrid",
  paris: "Europe/Paris",
  london: "Europe/London",
};

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
    expect(headlines.fixedTags).toContain("news");
    expect(search.fixedTags).toContain("news");
  });

  it("tag the weather by city, so a purge can drop one city", () => {
    expect(weather.tags(paramsOf(weather))).toEqual(["weather", "weather:lisbon"]);
    expect(weather.tags(paramsOf(weather, { city: "paris" }))).toEqual(["weather", "weather:paris"]);
  });

  it.each(demos)("$source.name: the API's answer passes the schema", async ({ schema, load }) => {
    expect(schema.safeParse(await load(signal())).success).toBe(true);
  });

  it.each(demos)("$source.name: loads plain JSON data", async ({ source }) => {
    const data = await source.loadData(paramsOf(source), signal(), noSettings);
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
      const call = api.fetchSearch(SEARCH_QUERY, controller.signal);
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
    const data = weatherSchema.parse(await fetchWeather("lisbon", signal()));
    expect(Object.keys(data).sort()).toEqual([
      "city",
      "condition",
      "feelsLikeC",
      "hours",
      "humidity",
      "observedAt",
      "temperatureC",
      "timeZone",
      "windKph",
    ]);
    expect(data.city).toBe("Lisbon");
    expect(data.timeZone).toBe("Europe/Lisbon");
    expect(data.hours).toHaveLength(6);
  });

  it("keep the four rates in order and drop the others", async () => {
    const data = ratesSchema.parse(await fetchEuroRates(signal()));
    expect(data.base).toBe("EUR");
    expect(data.rates.map((rate) => rate.currency)).toEqual(["USD", "GBP", "JPY", "CHF"]);
  });

  it("keep five headlines and the search's three results", async () => {
    expect(headlinesSchema.parse(await fetchHeadlines(signal())).stories).toHaveLength(5);
    const data = searchSchema.parse(await fetchSearch(SEARCH_QUERY, signal()));
    expect(data.query).toBe("streaming server rendering");
    expect(data.results).toHaveLength(3);
  });

  it("refuse malformed weather", async () => {
    const raw = await fetchWeather("lisbon", signal());
    expect(weatherSchema.safeParse({ ...raw, current: { ...raw.current, temp_c: "18.2" } }).success).toBe(false);
    expect(weatherSchema.safeParse({ ...raw, forecast: { hourly: [] } }).success).toBe(false);
    expect(weatherSchema.safeParse({ ...raw, location: { ...raw.location, tz_id: "Mars/Olympus" } }).success).toBe(
      false,
    );
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
    const raw = await fetchSearch(SEARCH_QUERY, signal());
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
    await expect(broken.loadData({}, signal(), noSettings)).rejects.toBeInstanceOf(SourceDataError);
  });
});

describe("the renders", () => {
  it("show the weather as a temperature, its condition and a list of the next hours", () => {
    const data: Weather = {
      city: "Lisbon",
      timeZone: "Europe/Lisbon",
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
    // Paris is an hour ahead.
    const paris = render(WeatherView, { ...data, city: "Paris", timeZone: "Europe/Paris" });
    expect(paris).toMatch(/<h3[^>]*>Next hours \(Paris time\)<\/h3>/);
    expect(paris).toMatch(/<time dateTime="2025-01-15T15:00:00.000Z">16:00<\/time>/);
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
      const markup = renderToStaticMarkup(
        await source.render({ data: await source.loadData(paramsOf(source), signal(), noSettings) }),
      );
      expect(markup.length).toBeGreaterThan(0);
      expect(markup).not.toMatch(/\sstyle=|<h[12][\s>]/);
    }
  });
});

describe("the weather's city", () => {
  it("is Lisbon by default, and the title says so", () => {
    expect(paramsOf(weather)).toEqual({ city: "lisbon" });
    expect(weather.title(paramsOf(weather))).toBe("Weather in Lisbon");
  });

  it.each(CITIES)("%s: titles the part, and loads the city's data, its hours on its own clock", async (city) => {
    const params = paramsOf(weather, { city });
    expect(weather.title(params)).toBe(`Weather in ${CITY_NAMES[city]}`);
    const data = (await weather.loadData(params, signal(), noSettings)) as Weather;
    expect(data.city).toBe(CITY_NAMES[city]);
    expect(data.timeZone).toBe(TIME_ZONES[city]);
    const markup = renderToStaticMarkup(await weather.render({ data }));
    expect(markup).toContain(`Next hours (${CITY_NAMES[city]} time)`);
  });

  it("is refused when it is not one of the cities, with the rule in the message", () => {
    const parsed = weather.params!.safeParse({ city: "atlantis" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe("must be one of lisbon, porto, madrid, paris, london");
    expect(weather.params!.safeParse({ city: "Lisbon" }).success).toBe(false);
    expect(weather.params!.safeParse({ city: ["lisbon", "porto"] }).success).toBe(false);
  });
});

describe("the search's query", () => {
  it("is the demo's own phrase when absent or empty, and the title says so", () => {
    expect(paramsOf(search)).toEqual({ q: SEARCH_QUERY });
    expect(paramsOf(search, { q: "" })).toEqual({ q: SEARCH_QUERY });
    expect(search.title(paramsOf(search))).toBe("Search: streaming server rendering");
  });

  it("is trimmed, and refused when blank or longer than 100 characters", () => {
    expect(paramsOf(search, { q: "  edge caching \n" })).toEqual({ q: "edge caching" });
    expect(search.title(paramsOf(search, { q: "edge caching" }))).toBe("Search: edge caching");
    expect(paramsOf(search, { q: "x".repeat(100) })).toEqual({ q: "x".repeat(100) });
    expect(search.params!.safeParse({ q: "   " }).success).toBe(false);
    expect(search.params!.safeParse({ q: "x".repeat(101) }).success).toBe(false);
  });

  it("keeps the default's hand-written results, and a count of about 1.2 million", async () => {
    const data = (await search.loadData(paramsOf(search), signal(), noSettings)) as Search;
    expect(data.query).toBe(SEARCH_QUERY);
    expect(data.results[0]?.url).toBe("https://developer.example.com/guides/streaming-ssr");
    expect(data.total).toBeGreaterThan(1_200_000);
    expect(data.total).toBeLessThan(1_260_000);
  });

  it("is echoed in the results, which are made from it, with a count that depends on it", async () => {
    const load = async (q: string) => (await search.loadData(paramsOf(search, { q }), signal(), noSettings)) as Search;
    const data = await load("edge caching");
    expect(data.query).toBe("edge caching");
    expect(data.results).toHaveLength(3);
    for (const result of data.results) expect(`${result.title} ${result.snippet}`).toContain("edge caching");
    expect(data.results[0]?.url).toBe("https://developer.example.com/guides/edge%20caching");
    // The same query counts about the same on every call; another query counts differently.
    const again = await load("edge caching");
    expect(Math.abs(again.total - data.total)).toBeLessThanOrEqual(data.total / 25);
    expect((await load("cache stampede")).total).not.toBe(data.total);
  });

  it("with the word “nothing” finds no results, and the view says so", async () => {
    const data = (await search.loadData(paramsOf(search, { q: "nothing at all" }), signal(), noSettings)) as Search;
    expect(data).toEqual({ query: "nothing at all", total: 0, results: [] });
    expect(render(SearchView, data)).toBe('<p class="search-total">No results for “nothing at all”.</p>');
  });

  it("is shown escaped, and kept inside the results' links by encoding", async () => {
    const q = '<script>alert("hi")</script> & co';
    const data = (await search.loadData(paramsOf(search, { q }), signal(), noSettings)) as Search;
    const markup = render(SearchView, data);
    expect(markup).not.toContain("<script>");
    expect(markup).toContain("&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; co: a practical guide");
    for (const { url } of data.results) {
      expect(url).toMatch(/^https:\/\/[\w.-]+\/[\w/]+\/%3Cscript%3Ealert\(%22hi%22\)%3C%2Fscript%3E%20%26%20co$/);
    }
    expect(render(SearchView, { ...data, results: [] })).toContain("No results for “&lt;script&gt;");
  });
});

describe("the controls", () => {
  function controls(source: Source, params: Params, search: string): string {
    return renderToStaticMarkup(createElement(source.controls!, { params, search: new URLSearchParams(search) }));
  }

  it("of the search: a GET form to the page, its box labelled, keeping the page's other parameters", () => {
    const markup = controls(search, { q: "edge & <cache>" }, "city=porto&q=old&utm=a&utm=b");
    const form = markup.match(/^<form [^>]*>/)?.[0];
    for (const attribute of ['role="search"', 'method="get"', 'action="/"']) expect(form).toContain(attribute);
    expect(markup).toContain('<input type="hidden" name="city" value="porto"/>');
    expect(count(markup, /<input type="hidden" name="utm"/)).toBe(2);
    expect(markup).not.toMatch(/type="hidden"[^>]*name="q"/);
    // The box sits inside its label, which names it; it shows the query the part answers.
    const box = markup.match(/<label[^>]*><span[^>]*>Search the web<\/span>(<input [^>]*>)<\/label>/)?.[1];
    for (const attribute of ['type="search"', 'name="q"', 'maxLength="100"', 'value="edge &amp; &lt;cache&gt;"'])
      expect(box).toContain(attribute);
    expect(count(markup, /name="q"/)).toBe(1);
    expect(markup).toContain('<button type="submit">Search</button>');
  });

  it("of the weather: a link to each city, keeping the page's other parameters, the current one marked", () => {
    const markup = controls(
      weather,
      { city: "porto" },
      new URLSearchParams({ q: "fish & chips", city: "porto" }).toString(),
    );
    expect(markup).toMatch(/^<nav aria-label="Other cities" class="weather-cities"><ul>/);
    expect(count(markup, /<a /)).toBe(CITIES.length);
    expect(markup).toContain('<a href="?q=fish+%26+chips&amp;city=lisbon">Lisbon</a>');
    expect(markup).toContain('<a href="?q=fish+%26+chips&amp;city=porto" aria-current="page">Porto</a>');
    expect(count(markup, /aria-current/)).toBe(1);
    // With no city in the page's URL, each link adds one.
    expect(controls(weather, { city: "lisbon" }, "")).toContain('<a href="?city=madrid">Madrid</a>');
  });

  it("have no inline style and no page-level heading", () => {
    for (const source of [weather, search]) {
      expect(controls(source, paramsOf(source), "")).not.toMatch(/\sstyle=|<h[12][\s>]/);
    }
  });
});
