import "server-only";
import { getConfig } from "@/lib/config";
import { simulatedLatency } from "@/lib/upstream";

/*
 * Four slow public JSON APIs, simulated locally so the demo needs no network or API key. Each answers in the
 * shape a real provider would (snake_case, nested objects, fields the app ignores), so the sources' schemas
 * have real work to do, and with data that drifts a little between calls, so a refresh is visible.
 */

/** Latency cap when the simulator is not configured (SLOW_API_URL set): the simulator's default. */
const DEFAULT_CAP_MS = 3000;

/**
 * Waits a realistic latency, clipped to SLOW_API_MAX_MS (0 makes the demo instant). The cap is read on every
 * call, not at import, so it follows the configuration the process has when the call is made.
 */
function latency(minMs: number, maxMs: number, signal: AbortSignal): Promise<void> {
  const { upstream } = getConfig();
  const cap = upstream.kind === "simulator" ? upstream.maxMs : DEFAULT_CAP_MS;
  const max = Math.min(maxMs, cap);
  return simulatedLatency(Math.min(minMs, max), max, signal);
}

/** `value` moved by up to `spread` either way. */
function drift(value: number, spread: number): number {
  return value + (Math.random() * 2 - 1) * spread;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

// ---------------------------------------------------------------------------------------------------------
// (a) Weather: current conditions and the next hours, in the style of a hosted weather API.

export type RawCondition = { text: string; icon: string; code: number };

export type RawWeather = {
  location: { name: string; region: string; country: string; lat: number; lon: number; tz_id: string };
  current: {
    last_updated: string;
    temp_c: number;
    feelslike_c: number;
    humidity: number;
    wind_kph: number;
    wind_dir: string;
    is_day: 0 | 1;
    condition: RawCondition;
  };
  forecast: {
    hourly: Array<{ time: string; temp_c: number; chance_of_rain: number; is_day: 0 | 1; condition: RawCondition }>;
  };
};

const DAY_MS = 24 * HOUR_MS;

/** The cities the API knows, by the id a call names one with. */
export const CITIES = ["lisbon", "porto", "madrid", "paris", "london"] as const;

export type City = (typeof CITIES)[number];

/** A city's weather, as a few numbers: enough for readings that look like its own. */
type Climate = {
  /** The year's mean daily temperature (°C), and how far the seasons move it either way (warmest late July). */
  mean: number;
  seasonal: number;
  /** How far the hour moves it either way: coolest before dawn, warmest at 15:00 local time. */
  daily: number;
  /** Hours ahead of UTC (standard time): when the city's day comes round. */
  utcOffset: number;
  humidity: number;
  windKph: number;
  windDir: string;
  /** The chance that a call finds the sky cloudy. */
  cloudiness: number;
};

const PLACES: Record<City, { location: RawWeather["location"]; climate: Climate }> = {
  // Mild and Atlantic: a daily mean near 11 °C in January and 22 °C in late July.
  lisbon: {
    location: { name: "Lisbon", region: "Lisboa", country: "Portugal", lat: 38.72, lon: -9.14, tz_id: "Europe/Lisbon" },
    climate: {
      mean: 16.5,
      seasonal: 5,
      daily: 4,
      utcOffset: 0,
      humidity: 68,
      windKph: 14,
      windDir: "NNW",
      cloudiness: 0.3,
    },
  },
  // Cooler and damper up the coast.
  porto: {
    location: { name: "Porto", region: "Porto", country: "Portugal", lat: 41.15, lon: -8.61, tz_id: "Europe/Lisbon" },
    climate: {
      mean: 15,
      seasonal: 4.5,
      daily: 4,
      utcOffset: 0,
      humidity: 76,
      windKph: 12,
      windDir: "NW",
      cloudiness: 0.4,
    },
  },
  // Inland and high: cold winter nights, hot dry summer afternoons.
  madrid: {
    location: { name: "Madrid", region: "Madrid", country: "Spain", lat: 40.42, lon: -3.7, tz_id: "Europe/Madrid" },
    climate: {
      mean: 15.5,
      seasonal: 9.5,
      daily: 5.5,
      utcOffset: 1,
      humidity: 52,
      windKph: 10,
      windDir: "NE",
      cloudiness: 0.2,
    },
  },
  paris: {
    location: {
      name: "Paris",
      region: "Île-de-France",
      country: "France",
      lat: 48.86,
      lon: 2.35,
      tz_id: "Europe/Paris",
    },
    climate: {
      mean: 12.5,
      seasonal: 7.5,
      daily: 4,
      utcOffset: 1,
      humidity: 72,
      windKph: 13,
      windDir: "SW",
      cloudiness: 0.5,
    },
  },
  london: {
    location: {
      name: "London",
      region: "City of London, Greater London",
      country: "United Kingdom",
      lat: 51.51,
      lon: -0.13,
      tz_id: "Europe/London",
    },
    climate: {
      mean: 11.5,
      seasonal: 6.5,
      daily: 4,
      utcOffset: 0,
      humidity: 75,
      windKph: 16,
      windDir: "WSW",
      cloudiness: 0.55,
    },
  },
};

/** The hour on the city's clock (0–23), from its standard offset. */
function localHour(at: Date, climate: Climate): number {
  return (at.getUTCHours() + climate.utcOffset + 24) % 24;
}

function temperatureAt(at: Date, climate: Climate): number {
  const dayOfYear = (at.getTime() - Date.UTC(at.getUTCFullYear(), 0, 1)) / DAY_MS;
  const seasonal = climate.mean + climate.seasonal * Math.cos(((dayOfYear - 205) / 365) * 2 * Math.PI);
  return seasonal + climate.daily * Math.cos(((localHour(at, climate) - 15) / 24) * 2 * Math.PI);
}

function condition(at: Date, climate: Climate, cloudy: boolean): { is_day: 0 | 1; condition: RawCondition } {
  const hour = localHour(at, climate);
  const day = hour >= 7 && hour < 19;
  const [text, code, icon] = cloudy ? ["Partly cloudy", 1003, 116] : [day ? "Sunny" : "Clear", 1000, 113];
  return {
    is_day: day ? 1 : 0,
    condition: { text, code, icon: `https://cdn.example.com/weather/64x64/${day ? "day" : "night"}/${icon}.png` },
  };
}

/** Current weather and the next six hours in `city`; 0.3–1.5 s. */
export async function fetchWeather(city: City, signal: AbortSignal): Promise<RawWeather> {
  await latency(300, 1500, signal);
  const { location, climate } = PLACES[city];
  const now = new Date();
  const cloudy = Math.random() < climate.cloudiness;
  const temperature = round(drift(temperatureAt(now, climate), 1), 1);
  const nextHour = Math.floor(now.getTime() / HOUR_MS + 1) * HOUR_MS;
  return {
    location,
    current: {
      last_updated: now.toISOString(),
      temp_c: temperature,
      feelslike_c: round(temperature - 0.8, 1),
      humidity: Math.round(drift(climate.humidity, 6)),
      wind_kph: round(drift(climate.windKph, 3), 1),
      wind_dir: climate.windDir,
      ...condition(now, climate, cloudy),
    },
    forecast: {
      hourly: Array.from({ length: 6 }, (_, index) => {
        const at = new Date(nextHour + index * HOUR_MS);
        return {
          time: at.toISOString(),
          temp_c: round(drift(temperatureAt(at, climate), 0.5), 1),
          chance_of_rain: Math.round(drift(cloudy ? 25 : 5, 5)),
          ...condition(at, climate, cloudy && index < 3),
        };
      }),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// (b) Exchange rates: one base currency against several, in the style of a reference-rates API.

export type RawRates = {
  success: boolean;
  base: string;
  date: string;
  timestamp: number;
  updated_at: string;
  provider: string;
  rates: Record<string, number>;
};

/** Roughly where EUR trades; JPY is quoted to 2 decimals, the others to 4, as reference rates are. */
const EUR_RATES = {
  USD: [1.158, 4],
  GBP: [0.877, 4],
  JPY: [180.6, 2],
  CHF: [0.932, 4],
  AUD: [1.776, 4],
  CAD: [1.626, 4],
} as const;

/** EUR against USD, GBP, JPY, CHF (and a few the app ignores); 0.1–0.8 s. */
export async function fetchEuroRates(signal: AbortSignal): Promise<RawRates> {
  await latency(100, 800, signal);
  const now = new Date();
  return {
    success: true,
    base: "EUR",
    date: now.toISOString().slice(0, 10),
    timestamp: Math.floor(now.getTime() / 1000),
    updated_at: now.toISOString(),
    provider: "Example Reference Rates",
    rates: Object.fromEntries(
      Object.entries(EUR_RATES).map(([currency, [rate, digits]]) => [currency, round(rate * drift(1, 0.002), digits)]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------------------
// (c) Headlines: the latest stories of a news wire.

export type RawArticle = {
  id: string;
  source: { id: string; name: string };
  byline: string;
  headline: string;
  summary: string;
  url: string;
  image_url: string;
  section: string;
  published_at: string;
};

export type RawHeadlines = { status: string; total_results: number; articles: RawArticle[] };

/** The wire's recent stories, with how many minutes ago each was filed. */
const STORIES = [
  {
    minutesAgo: 6,
    source: ["example-wire", "Example Wire"],
    section: "Local",
    headline: "City council approves riverside cycling lanes after public consultation",
    url: "https://news.example.com/local/riverside-cycling-lanes-approved",
  },
  {
    minutesAgo: 19,
    source: ["daily-example", "Daily Example"],
    section: "Business",
    headline: "Central bank leaves interest rates unchanged, citing steady inflation",
    url: "https://www.example.org/business/central-bank-holds-rates",
  },
  {
    minutesAgo: 42,
    source: ["example-science", "Example Science"],
    section: "Science",
    headline: "Autonomous gliders map deep-sea currents off the Atlantic coast",
    url: "https://science.example.org/oceans/gliders-map-deep-currents",
  },
  {
    minutesAgo: 67,
    source: ["example-post", "The Example Post"],
    section: "Transport",
    headline: "Regional rail line reopens after six weeks of bridge repairs",
    url: "https://post.example.com/transport/rail-line-reopens",
  },
  {
    minutesAgo: 95,
    source: ["example-tech", "Example Tech"],
    section: "Technology",
    headline: "Open-source maintainers meet to discuss sustainable funding",
    url: "https://tech.example.com/open-source/maintainers-funding-summit",
  },
  {
    minutesAgo: 104,
    source: ["example-wire", "Example Wire"],
    section: "Culture",
    headline: "Museum reopens its restored tile collection to the public",
    url: "https://news.example.com/culture/tile-museum-reopens",
  },
] as const;

/** The five latest stories, newest first; which five shifts as filing times drift. 0.5–2.5 s. */
export async function fetchHeadlines(signal: AbortSignal): Promise<RawHeadlines> {
  await latency(500, 2500, signal);
  const now = Date.now();
  const articles = STORIES.map((story, index) => ({
    published: now - Math.max(1, drift(story.minutesAgo, 8)) * MINUTE_MS,
    article: {
      id: `${story.source[0]}-${String(index + 1).padStart(4, "0")}`,
      source: { id: story.source[0], name: story.source[1] },
      byline: `${story.source[1]} staff`,
      headline: story.headline,
      summary: `${story.headline}. Full story at ${story.source[1]}.`,
      url: story.url,
      image_url: `${story.url}/lead.jpg`,
      section: story.section,
    },
  }))
    .sort((a, b) => b.published - a.published)
    .slice(0, 5)
    .map(({ published, article }) => ({ ...article, published_at: new Date(published).toISOString() }));
  return { status: "ok", total_results: 248, articles };
}

// ---------------------------------------------------------------------------------------------------------
// (d) Search: a slow web search, in the style of a search-results API.

export type RawSearch = {
  search_metadata: { id: string; status: string; created_at: string; total_time_taken: number };
  search_parameters: { q: string; hl: string; num: number };
  search_information: { total_results: number; time_taken_displayed: number };
  organic_results: Array<{ position: number; title: string; link: string; displayed_link: string; snippet: string }>;
};

export const SEARCH_QUERY = "streaming server rendering";

const SEARCH_RESULTS = [
  {
    title: "Streaming server rendering with Suspense: a practical guide",
    link: "https://developer.example.com/guides/streaming-ssr",
    snippet:
      "Send the page's shell at once and stream each slow part as it resolves, with a Suspense boundary marking where each one goes.",
  },
  {
    title: "Streaming versus waterfalls: measuring pages built on slow APIs",
    link: "https://blog.example.org/posts/streaming-vs-waterfalls",
    snippet:
      "Time to first byte and largest contentful paint for a page waiting on three slow APIs, rendered all at once and then streamed.",
  },
  {
    title: "What travels over the wire when a server flushes HTML early",
    link: "https://www.example.org/articles/flushing-html-early",
    snippet:
      "Chunked transfer, compression and proxy buffering: what can hold back a streamed response before it reaches the browser.",
  },
];

/** FNV-1a over the query's UTF-16 code units: a query gets about the same count on every call and every instance. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) value = Math.imul(value ^ text.charCodeAt(index), 0x01000193);
  return value >>> 0;
}

/**
 * What the engine finds for `q`: the hand-written results for the demo's own query, nothing for a query with
 * the word "nothing" (so the empty state can be seen), and for any other three results made from it.
 */
function find(q: string): { total: number; results: ReadonlyArray<{ title: string; link: string; snippet: string }> } {
  if (q === SEARCH_QUERY) return { total: 1_230_000, results: SEARCH_RESULTS };
  if (/\bnothing\b/i.test(q)) return { total: 0, results: [] };
  const path = encodeURIComponent(q);
  return {
    total: 1_000 + (hash(q.toLowerCase()) % 2_000_000),
    results: [
      {
        title: `${q}: a practical guide`,
        link: `https://developer.example.com/guides/${path}`,
        snippet: `Everything you need to know about ${q}, from the first steps to the details that matter in production.`,
      },
      {
        title: `Questions tagged “${q}”`,
        link: `https://forum.example.org/questions/tagged/${path}`,
        snippet: `Answers from people who have worked with ${q}, sorted by votes.`,
      },
      {
        title: `${q} - Example Encyclopedia`,
        link: `https://encyclopedia.example.org/wiki/${path}`,
        snippet: `An overview of ${q}: its history, how it works, and where to read more.`,
      },
    ],
  };
}

/** The count of results for `q` and the first three; 1–3 s. */
export async function fetchSearch(q: string, signal: AbortSignal): Promise<RawSearch> {
  const started = Date.now();
  await latency(1000, 3000, signal);
  const took = (Date.now() - started) / 1000;
  const { total, results } = find(q);
  return {
    search_metadata: {
      id: `search-${started.toString(36)}`,
      status: "Success",
      created_at: new Date().toISOString(),
      total_time_taken: round(took, 2),
    },
    search_parameters: { q, hl: "en", num: results.length },
    search_information: { total_results: Math.round(drift(total, total / 50)), time_taken_displayed: round(took, 2) },
    organic_results: results.map((result, index) => ({
      position: index + 1,
      ...result,
      displayed_link: result.link.replace(/^https:\/\//, "").replaceAll("/", " › "),
    })),
  };
}
