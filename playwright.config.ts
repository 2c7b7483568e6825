import { defineConfig, devices } from "@playwright/test";
import { systemChromium } from "./harness/chromium";

export default defineConfig({
  testDir: "e2e",
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  // One at a time: the tests assert timing on a 2-core machine, and each runs its own servers and browser.
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    trace: "on-first-retry",
    launchOptions: systemChromium ? { executablePath: systemChromium } : {},
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
});
