import { z } from "zod";
import { type ControlsProps, defineSource } from "@/lib/source";
import { CITIES, type City, fetchWeather } from "./demo-api";

/** Each city's name, as its title and the links to it show it, before (and whatever) its data says. */
export const CITY_NAMES: Readonly<Record<City, string>> = {
  lisbon: "Lisbon",
  porto: "Porto",
  madrid: "Madrid",
  paris: "Paris",
  london: "London",
};

/** `?city=porto`: one of the cities the API knows, Lisbon when absent. */
const weatherParams = z.object({
  city: z.enum(CITIES, { error: `must be one of ${CITIES.join(", ")}` }).default("lisbon"),
});

type WeatherParams = z.output<typeof weatherParams>;

/** Whether this runtime knows `zone` as a time zone (an IANA name such as `Europe/Lisbon`). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}

const condition = z.object({ text: z.string().trim().min(1).max(100) });
const celsius = z.number().min(-90).max(60);

/** Checks the provider's answer and keeps only what the card shows, in camelCase. */
export const weatherSchema = z
  .object({
    location: z.object({
      name: z.string().trim().min(1).max(100),
      // The view formats every hour in it: a zone the runtime does not know would make the render throw.
      tz_id: z.string().max(64).refine(isTimeZone, "must be a known IANA time zone"),
    }),
    current: z.object({
      last_updated: z.iso.datetime(),
      temp_c: celsius,
      feelslike_c: celsius,
      humidity: z.number().min(0).max(100),
      wind_kph: z.number().min(0),
      condition,
    }),
    forecast: z.object({
      hourly: z
        .array(
          z.object({ time: z.iso.datetime(), temp_c: celsius, chance_of_rain: z.number().min(0).max(100), condition }),
        )
        .min(1),
    }),
  })
  .transform(({ location, current, forecast }) => ({
    city: location.name,
    timeZone: location.tz_id,
    observedAt: current.last_updated,
    temperatureC: current.temp_c,
    feelsLikeC: current.feelslike_c,
    humidity: current.humidity,
    windKph: current.wind_kph,
    condition: current.condition.text,
    hours: forecast.hourly.slice(0, 6).map((hour) => ({
      time: hour.time,
      temperatureC: hour.temp_c,
      rainChance: hour.chance_of_rain,
      condition: hour.condition.text,
    })),
  }));

export type Weather = z.output<typeof weatherSchema>;

const temperature = new Intl.NumberFormat("en", { style: "unit", unit: "celsius", maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat("en", { style: "unit", unit: "percent", maximumFractionDigits: 0 });
const speed = new Intl.NumberFormat("en", { style: "unit", unit: "kilometer-per-hour", maximumFractionDigits: 0 });

export function WeatherView({ data }: { data: Weather }) {
  // The city's own clock, named, rather than the server's: the same output wherever the server runs.
  const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: data.timeZone });
  return (
    <>
      <p className="weather-now">
        <span className="weather-temp">{temperature.format(data.temperatureC)}</span>
        <span className="weather-condition">{data.condition}</span>
      </p>
      <p className="weather-details">
        {`Feels like ${temperature.format(data.feelsLikeC)} · humidity ${percent.format(data.humidity)} · wind ${speed.format(data.windKph)}`}
      </p>
      <h3 className="weather-heading">{`Next hours (${data.city} time)`}</h3>
      <ol className="weather-hours">
        {data.hours.map((hour) => (
          <li key={hour.time}>
            <time dateTime={hour.time}>{clock.format(new Date(hour.time))}</time>
            <span className="weather-hour-temp">{temperature.format(hour.temperatureC)}</span>
            <span className="weather-hour-condition">{hour.condition}</span>
          </li>
        ))}
      </ol>
    </>
  );
}

/** The page's URL with `city` set, every other parameter kept (a search's `q` goes on with the visitor). */
function withCity(search: URLSearchParams, city: City): string {
  const next = new URLSearchParams(search);
  next.set("city", city);
  return `?${next}`;
}

/** A link to each city: plain links, so they work without JavaScript. */
function WeatherControls({ params, search }: ControlsProps<WeatherParams>) {
  return (
    <nav aria-label="Other cities" className="weather-cities">
      <ul>
        {CITIES.map((city) => (
          <li key={city}>
            <a href={withCity(search, city)} aria-current={city === params.city ? "page" : undefined}>
              {CITY_NAMES[city]}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Weather changes slowly: ten minutes fresh, and a stale reading is still worth showing for half an hour. */
export const weather = defineSource({
  name: "weather",
  params: weatherParams,
  title: ({ city }) => `Weather in ${CITY_NAMES[city]}`,
  load: ({ params, signal }) => fetchWeather(params.city, signal),
  schema: weatherSchema,
  render: WeatherView,
  controls: WeatherControls,
  freshSeconds: 600,
  graceSeconds: 1800,
  // `weather:<city>` lets a purge drop one city's entry and keep the others.
  tags: ({ city }) => ["weather", `weather:${city}`],
});
