import { performance } from "node:perf_hooks";

/** A call that took longer than its budget. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

// However busy the process, a call never waits more than this many budgets.
const MAX_EXTENSIONS = 10;
// Above this share of the window spent running JavaScript, the process, not the call, was the slow part.
const SATURATED = 0.9;

/**
 * Settles with `promise`, or rejects with `onTimeout()` after `ms`; the timer never outlives the race.
 * The budget is for the call, not for this process: when the event loop was saturated for the window
 * (a burst of renders), the answer may be sitting unread, so the call gets a fresh budget (at most
 * MAX_EXTENSIONS times), and I/O already waiting gets a turn before a timeout is declared.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let turn: NodeJS.Immediate | undefined;
  const expired = new Promise<never>((_, reject) => {
    const arm = (extensions: number) => {
      const window = performance.eventLoopUtilization();
      timer = setTimeout(() => {
        const busy = performance.eventLoopUtilization(window).utilization > SATURATED;
        if (busy && extensions < MAX_EXTENSIONS) return arm(extensions + 1);
        turn = setImmediate(() => reject(onTimeout()));
      }, ms);
    };
    arm(0);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
    clearImmediate(turn);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
