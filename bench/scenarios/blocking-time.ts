/** A task that held the main thread, ms since navigation start (a `longtask` performance entry). */
export type LongTask = { start: number; duration: number };

/** Lighthouse's threshold: the part of a task past 50 ms is time in which input waits. */
export const BLOCKING_THRESHOLD_MS = 50;

/**
 * Lighthouse's Total Blocking Time: each long task clipped to the window from the first contentful paint to
 * the time to interactive, counting what of it is past the threshold (Lighthouse's `tbt-utils`, without its
 * sub-task scaling, which a `longtask` entry does not expose).
 */
export function totalBlockingTime(
  tasks: readonly LongTask[],
  firstContentfulPaint: number,
  interactive: number,
): number {
  let blocking = 0;
  for (const { start, duration } of tasks) {
    const clipped = Math.min(start + duration, interactive) - Math.max(start, firstContentfulPaint);
    if (clipped > BLOCKING_THRESHOLD_MS) blocking += clipped - BLOCKING_THRESHOLD_MS;
  }
  return blocking;
}

/**
 * The end of the last long task, or the first contentful paint if it came later: with no long task after it,
 * the page answers input at once. Given the tasks seen before a quiet window, this is Lighthouse's time to
 * interactive with that window's length.
 */
export function interactiveAt(tasks: readonly LongTask[], firstContentfulPaint: number): number {
  return Math.max(firstContentfulPaint, ...tasks.map(({ start, duration }) => start + duration));
}
