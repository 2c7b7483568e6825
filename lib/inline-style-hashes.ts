import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where a production build keeps its stylesheets (Turbopack, then webpack), from the server's working directory. */
const STYLESHEET_FOLDERS = [join(".next", "static", "chunks"), join(".next", "static", "css")];

let sources: readonly string[] | undefined;

/**
 * CSP sources (`'sha256-…'`) for the build's stylesheets. `experimental.inlineCss` puts each into the page as
 * a `<style>` element, which React writes without the response's nonce; a hash admits exactly that text. Empty
 * where the build's files are not on the server's disk (a platform serving them from elsewhere): the caller
 * then has to admit inline styles some other way. Read once per process.
 */
export function inlineStyleSources(): readonly string[] {
  sources ??= STYLESHEET_FOLDERS.filter((folder) => existsSync(folder)).flatMap((folder) =>
    readdirSync(folder)
      .filter((file) => file.endsWith(".css"))
      .map(
        (file) =>
          `'sha256-${createHash("sha256")
            .update(readFileSync(join(folder, file)))
            .digest("base64")}'`,
      ),
  );
  return sources;
}
