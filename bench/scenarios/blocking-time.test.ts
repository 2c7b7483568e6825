import { describe, expect, it } from "vitest";
import { interactiveAt, totalBlockingTime } from "./blocking-time";

describe("totalBlockingTime", () => {
  it("counts what each long task has past 50 ms", () => {
    expect(
      totalBlockingTime(
        [
          { start: 100, duration: 80 },
          { start: 300, duration: 120 },
        ],
        50,
        500,
      ),
    ).toBe(30 + 70);
  });

  it("counts only the part of a task after the first contentful paint", () => {
    // 140 ms long, 100 of them after the paint: 50 blocking.
    expect(totalBlockingTime([{ start: 60, duration: 140 }], 100, 500)).toBe(50);
  });

  it("counts nothing of a task whose part after the paint is 50 ms or less", () => {
    expect(totalBlockingTime([{ start: 0, duration: 140 }], 100, 500)).toBe(0);
  });

  it("counts nothing past the time to interactive", () => {
    expect(totalBlockingTime([{ start: 400, duration: 200 }], 0, 500)).toBe(50);
  });
});

describe("interactiveAt", () => {
  it("is the end of the last long task", () => {
    expect(
      interactiveAt(
        [
          { start: 100, duration: 80 },
          { start: 300, duration: 60 },
        ],
        50,
      ),
    ).toBe(360);
  });

  it("is the first contentful paint when no long task ends after it", () => {
    expect(interactiveAt([{ start: 10, duration: 60 }], 120)).toBe(120);
    expect(interactiveAt([], 120)).toBe(120);
  });
});
