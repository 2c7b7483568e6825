import { z } from "zod";
import { defineSource } from "@/lib/source";
import { fetchHeadlines } from "./demo-api";

// Only web links: an upstream's `javascript:` or `data:` URL must never become an href on the page.
const webUrl = z.url({ protocol: /^https?$/ });

/** Checks the wire's answer and keeps the five latest stories, with what a link and its byline need. */
export const headlinesSchema = z
  .object({
    status: z.literal("ok"),
    articles: z
      .array(
        z.object({
          headline: z.string().trim().min(1).max(300),
          source: z.object({ name: z.string().trim().min(1).max(100) }),
          published_at: z.iso.datetime(),
          url: webUrl,
        }),
      )
      .min(1),
  })
  .transform(({ articles }) => ({
    stories: articles.slice(0, 5).map((article) => ({
      title: article.headline,
      source: article.source.name,
      publishedAt: article.published_at,
      url: article.url,
    })),
  }));

export type Headlines = z.output<typeof headlinesSchema>;

const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });

export function HeadlinesView({ data }: { data: Headlines }) {
  return (
    <ul className="headlines-list">
      {data.stories.map((story) => (
        <li key={story.url}>
          <a href={story.url}>{story.title}</a>
          <span className="headlines-meta">
            {`${story.source} · `}
            <time dateTime={story.publishedAt}>{`${clock.format(new Date(story.publishedAt))} UTC`}</time>
          </span>
        </li>
      ))}
    </ul>
  );
}

/** News turns over within minutes; a stale list still beats a spinner for ten more. */
export const headlines = defineSource({
  name: "headlines",
  title: "Headlines",
  load: ({ signal }) => fetchHeadlines(signal),
  schema: headlinesSchema,
  render: HeadlinesView,
  freshSeconds: 120,
  graceSeconds: 600,
  tags: ["news"],
});
