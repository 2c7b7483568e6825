import { z } from "zod";
import { defineSource } from "@/lib/source";
import { fetchLisbonWeather } from "./demo-api";

const condition = z.object({ text: z.string().trim().min(1).max(100) });
const celsius = z.number().min(-90).max(60);

/** Checks the provider's answer and keeps only what the card shows, in camelCase. */
export const weatherSchema = z
  .object({
    location: z.object({ name: z.string().trim().min(1).max(100) }),
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
// The city's own clock, named, rather than the server's: the same output wherever the server runs.
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Lisbon" });

export function WeatherView({ data }: { data: Weather }) {
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

/** Weather changes slowly: ten minutes fresh, and a stale reading is still worth showing for half an hour. */
export const weather = defineSource({
  name: "weather",
  title: "Weather in Lisbon",
  load: fetchLisbonWeather,
  schema: weatherSchema,
  render: WeatherView,
  freshSeconds: 600,
  graceSeconds: 1800,
  tags: ["weather"],
});
