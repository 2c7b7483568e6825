import { z } from "zod";
import { defineSource } from "@/lib/source";
import { fetchEuroRates } from "./demo-api";

/** The currencies shown, in this order; the API answers others, which are dropped. */
const CURRENCIES = ["USD", "GBP", "JPY", "CHF"] as const;

const rate = z.number().positive();

/** Checks the provider's answer and keeps the four rates shown, as an ordered list. */
export const ratesSchema = z
  .object({
    success: z.literal(true),
    base: z.string().regex(/^[A-Z]{3}$/),
    updated_at: z.iso.datetime(),
    rates: z.object({ USD: rate, GBP: rate, JPY: rate, CHF: rate }),
  })
  .transform(({ base, updated_at, rates }) => ({
    base,
    asOf: updated_at,
    rates: CURRENCIES.map((currency) => ({ currency, rate: rates[currency] })),
  }));

export type Rates = z.output<typeof ratesSchema>;

const names = new Intl.DisplayNames("en", { type: "currency" });
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });

const fourDecimals = new Intl.NumberFormat("en", { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const twoDecimals = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Four decimals, as reference rates are quoted; two for a rate in the hundreds such as JPY's. */
function formatRate(rate: number): string {
  return (rate >= 100 ? twoDecimals : fourDecimals).format(rate);
}

export function RatesView({ data }: { data: Rates }) {
  return (
    <>
      <table className="rates-table">
        <thead>
          <tr>
            <th scope="col">Currency</th>
            <th scope="col">Rate</th>
          </tr>
        </thead>
        <tbody>
          {data.rates.map(({ currency, rate }) => (
            <tr key={currency}>
              <th scope="row">
                <abbr title={names.of(currency)}>{currency}</abbr>
              </th>
              <td>{formatRate(rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="rates-meta">
        {`1 ${data.base} in each currency, as of `}
        <time dateTime={data.asOf}>{`${clock.format(new Date(data.asOf))} UTC`}</time>
      </p>
    </>
  );
}

/** Rates move by the minute: fresh for 30 s, and too old to show after another minute. */
export const rates = defineSource({
  name: "rates",
  title: "Exchange rates (EUR)",
  load: ({ signal }) => fetchEuroRates(signal),
  schema: ratesSchema,
  render: RatesView,
  freshSeconds: 30,
  graceSeconds: 60,
  // A fast API: give up on it, and show "still working", sooner than on the slow ones.
  deadlineMs: 2000,
  upstreamTimeoutMs: 5000,
  tags: ["markets"],
});
