import "server-only";
import { z } from "zod";
import { getRuntime } from "./runtime";
import { defineSource, type Source } from "./source";

/** A text fragment's parameter: the search parameter of a placeholder's name, 1–200 characters. */
const textParam = z
  .string({ error: "is required: 1-200 characters" })
  .min(1, "is required: 1-200 characters")
  .max(200, "must be at most 200 characters");

/**
 * One text fragment per name, each the upstream's answer for its name (SLOW_API_URL with `{query}`
 * replaced, or the simulator), with the environment's cache policy: the pattern in its plainest form. Each
 * other placeholder of the URL (`{city}`) is a required parameter of every one of them.
 */
export function textSources(names: readonly string[], placeholders: readonly string[] = []): Source[] {
  const params = z.object(Object.fromEntries(placeholders.map((name) => [name, textParam])));
  return names.map((name) =>
    placeholders.length === 0
      ? defineSource({
          name,
          title: `Fragment ${name}`,
          load: ({ signal }) => getRuntime().upstream(name, {}, signal),
          schema: z.string(),
          render: ({ data }) => data,
        })
      : defineSource({
          name,
          params,
          title: (asked) => `Fragment ${name} (${placeholders.map((placeholder) => asked[placeholder]).join(", ")})`,
          load: ({ params: asked, signal }) => getRuntime().upstream(name, asked, signal),
          schema: z.string(),
          render: ({ data }) => data,
        }),
  );
}
