import { timeChunks } from "../harness/chunk-timer";
import { expect, STORES, test } from "./fixtures";

for (const storeKind of STORES) {
  test.describe(`the fragment deadline on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("ends the page at the deadline with a still-working fragment; its call fills the cache for the retry", async ({
      page,
      launch,
      upstream,
    }) => {
      upstream.script("quick", { latencyMs: 100 });
      upstream.script("late", { latencyMs: 300 });
      const release = upstream.hold("late");
      const app = await launch({ FRAGMENTS: "quick,late", FRAGMENT_DEADLINE_MS: "1000" });

      const raw = await timeChunks(`${app.url}/`);
      const finished = raw.chunks.at(-1)?.at ?? Infinity;
      expect(raw.status).toBe(200);
      expect(finished, "the response ends at the deadline").toBeGreaterThanOrEqual(1000);
      expect(finished).toBeLessThan(1800);
      expect(raw.chunks.map((chunk) => chunk.text).join("")).toContain("Still working on late");

      await page.goto(app.url);
      const late = page.getByRole("region", { name: "Fragment late" });
      await expect(page.getByRole("region", { name: "Fragment quick" }).getByText("result for quick")).toBeVisible();
      await expect(late.getByRole("status")).toContainText("Still working on late");
      const retry = late.getByRole("button", { name: "Retry late" });
      await expect(retry).toBeVisible();
      expect(upstream.calls("late"), "one call, still in flight").toBe(1);

      release();
      await expect.poll(() => upstream.answered("late")).toBe(1);
      await page.evaluate(() => ((window as unknown as { marker: string }).marker = "same page"));
      await retry.click();
      await expect(late.getByText("result for late", { exact: true })).toBeVisible();
      await expect(late.getByText("result for late", { exact: true })).toHaveAttribute("data-origin", "hit");
      await expect(retry).toHaveCount(0);
      expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker), "no reload").toBe(
        "same page",
      );
      expect(upstream.calls("late")).toBe(1);
    });
  });
}
