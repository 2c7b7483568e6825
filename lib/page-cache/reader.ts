import { isbot } from "isbot";
import { getBotType } from "next/dist/shared/lib/router/utils/is-bot";

/**
 * Which rendering of a page a `User-Agent` gets, as the page and Next decide it today: the page sends crawlers
 * (`isbot`) one complete document, and Next, by its own list, renders the head's metadata differently for
 * the bots it knows. Readers without JavaScript send nothing that tells them apart: they get the person's page.
 */
export function readerKind(userAgent: string | null): string {
  const crawler = isbot(userAgent) ? "crawler" : "person";
  return `${crawler}/${(userAgent ? getBotType(userAgent) : undefined) ?? "browser"}`;
}
