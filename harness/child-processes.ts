import type { ChildProcess } from "node:child_process";

/** Every child the harness started and that is still running: none may outlive this process. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Keeps `child` in the registry until it exits; resolves then (or on a spawn failure, which may emit only `error`). */
export function track(child: ChildProcess): Promise<void> {
  live.add(child);
  return new Promise((resolve) => {
    const done = () => {
      live.delete(child);
      resolve();
    };
    child.once("exit", done);
    child.once("error", done);
  });
}

/** Sends `signal` and, if the child is still running after `graceMs`, SIGKILL; resolves once `exited` has. */
export async function stopChild(
  child: ChildProcess,
  exited: Promise<void>,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const killTimer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(killTimer);
  }
}
