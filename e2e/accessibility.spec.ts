import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";

const region = (page: Page, name: string) => page.getByRole("region", { name: `Fragment ${name}` });
const spinner = (page: Page, name: string) =>
  region(page, name).getByRole("status", { name: `Loading Fragment ${name}` });
const value = (page: Page, name: string) => region(page, name).getByText(`result for ${name}`, { exact: true });

/** Every axe rule, best practices included: no violation, each listed with where it is. */
async function expectNoViolations(page: Page, state: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const found = violations.map(
    (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
  );
  expect(found, `axe on the ${state} page`).toEqual([]);
}

test.describe("accessibility", () => {
  test("no axe violation cold, with every spinner showing, complete, and warm after a reload", async ({
    page,
    launch,
    upstream,
  }) => {
    const release = { a11y1: upstream.hold("a11y1"), a11y2: upstream.hold("a11y2") };
    const app = await launch({ FRAGMENTS: "a11y1,a11y2", FRAGMENT_DEADLINE_MS: "30000" });

    await page.goto(app.url, { waitUntil: "commit" });
    for (const name of ["a11y1", "a11y2"]) await expect(spinner(page, name)).toBeVisible();
    await expectNoViolations(page, "cold");

    release.a11y1();
    release.a11y2();
    for (const name of ["a11y1", "a11y2"]) await expect(value(page, name)).toBeVisible();
    await expect(page.getByRole("figure", { name: /^When each fragment was ready/ })).toBeVisible();
    await expectNoViolations(page, "complete");

    await page.reload();
    for (const name of ["a11y1", "a11y2"]) await expect(value(page, name)).toHaveAttribute("data-origin", "hit");
    await expectNoViolations(page, "warm");
  });

  test("no axe violation with a part that failed", async ({ page, launch, upstream }) => {
    upstream.script("fine", { latencyMs: 100 });
    upstream.script("broken", { status: 500 });
    const app = await launch({ FRAGMENTS: "fine,broken" });

    await page.goto(app.url);
    await expect(region(page, "broken").getByRole("alert")).toContainText("could not be loaded");
    await expect(value(page, "fine")).toBeVisible();
    await expectNoViolations(page, "error");
  });

  test("no axe violation with a part still working", async ({ page, launch, upstream }) => {
    upstream.hold("late");
    const app = await launch({ FRAGMENTS: "late", FRAGMENT_DEADLINE_MS: "800" });

    await page.goto(app.url);
    await expect(region(page, "late").getByRole("status")).toContainText("Still working on late");
    await expect(region(page, "late").getByRole("button", { name: "Retry late" })).toBeVisible();
    await expectNoViolations(page, "still working");
  });

  test("each part is a polite live region read whole, so its arrival is heard with its name", async ({
    page,
    launch,
    upstream,
  }) => {
    const release = upstream.hold("heard");
    const app = await launch({ FRAGMENTS: "heard", FRAGMENT_DEADLINE_MS: "30000" });

    await page.goto(app.url, { waitUntil: "commit" });
    const part = region(page, "heard");
    await expect(spinner(page, "heard")).toBeVisible();
    await expect(part).toHaveAttribute("aria-live", "polite");
    await expect(part).toHaveAttribute("aria-atomic", "true");
    release();
    await expect(value(page, "heard")).toBeVisible();
    await expect(part).not.toHaveAttribute("aria-busy", "true");
  });

  for (const reducedMotion of ["no-preference", "reduce"] as const) {
    test(`the spinner ${reducedMotion === "reduce" ? "stands still" : "turns"} when the reader's motion preference is ${reducedMotion}`, async ({
      page,
      launch,
      upstream,
    }) => {
      upstream.hold("turning");
      const app = await launch({ FRAGMENTS: "turning", FRAGMENT_DEADLINE_MS: "30000" });
      await page.emulateMedia({ reducedMotion });

      await page.goto(app.url, { waitUntil: "commit" });
      // Laid out by the page's stylesheet, not yet by the browser's defaults alone: the animation rules apply too.
      await expect(spinner(page, "turning")).toHaveCSS("display", "flex");
      const running = await page.evaluate(
        () => document.getAnimations().filter((animation) => animation.playState === "running").length,
      );
      expect(running).toBe(reducedMotion === "reduce" ? 0 : 1);
    });
  }
});
