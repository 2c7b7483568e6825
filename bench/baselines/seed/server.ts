import { readFileSync } from "node:fs";
import { join } from "node:path";
import express from "express";
import { Redis } from "ioredis";
import { performCached } from "./cacher";
import { performSlowExternalCall } from "./external-api";
import { CLIENT_SCRIPT, fragmentSnippet, skeletonPage } from "./pages";

/**
 * A TypeScript port of the talk's Express server: the skeleton page, the client script and
 * `/fragment/:fragmentName` with cache-aside in Redis. Configured like the app it is compared with.
 */
function main(): void {
  const env = process.env;
  const port = Number(env.PORT ?? 3000);
  const urlTemplate = env.SLOW_API_URL ?? "";
  const ttlSeconds = Number(env.CACHE_FRESH_SECONDS ?? 60);
  const names = (env.FRAGMENTS ?? "a,b,c").split(",");
  if (!urlTemplate.includes("{query}")) throw new Error("SLOW_API_URL must be a URL template containing {query}");
  const client = new Redis(env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const skeleton = skeletonPage(names);
  const spinner = readFileSync(join(__dirname, "../../../public/spinner.svg"));

  const app = express();
  app.disable("x-powered-by");
  app.get("/", (_req, res) => {
    res.type("html").send(skeleton);
  });
  // A browser keeps these between page views, as it kept the talk's script and spinner image.
  app.get("/javascripts/client.js", (_req, res) => {
    res.type("js").set("cache-control", "max-age=3600").send(CLIENT_SCRIPT);
  });
  app.get("/images/spinner.svg", (_req, res) => {
    res.type("svg").set("cache-control", "max-age=3600").send(spinner);
  });
  app.get("/fragment/:fragmentName", (req, res) => {
    const query = req.params.fragmentName;
    performCached(client, {
      key: `worker:${query}`,
      ttlSeconds,
      miss: () => performSlowExternalCall(urlTemplate, query),
    }).then(
      (result) => res.type("html").send(fragmentSnippet(query, result)),
      (error: unknown) =>
        res
          .status(502)
          .type("text")
          .send(error instanceof Error ? error.message : String(error)),
    );
  });
  app.listen(port, "127.0.0.1", () => console.info(`seed listening on ${port}`));
}

main();
