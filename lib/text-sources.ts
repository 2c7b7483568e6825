import "server-only";
import { z } from "zod";
import { getRuntime } from "./runtime";
import { defineSource, type Source } from "./source";

/**
 * One text fragment per name, each the upstream's answer for its name (SLOW_API_URL with `{query}`
 * replaced, or the simulator), with the environment's cache policy: the pattern in its plainest form.
 */
export function textSources(names: readonly string[]): Source[] {
  return names.map((name) =>
    defineSource({
      name,
      title: `Fragment ${name}`,
      load: (signal) => getRuntime().upstream(name, signal),
      schema: z.string(),
      render: ({ data }) => data,
    }),
  );
}
