import { existsSync } from "node:fs";

/**
 * The system's Chromium (Debian's package), which the tests, the bench and the screenshots launch; undefined
 * elsewhere, where Playwright uses its own browser (`npx playwright install chromium`).
 */
export const systemChromium: string | undefined = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) =>
  existsSync(path),
);
