import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { stopChild, track } from "./child-processes";

export type Daemon = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends the stop signal, waits for the exit (SIGKILL past a grace) and removes the daemon's dir. */
  stop(): Promise<void>;
};

export type DaemonOptions = {
  /** Named in errors. */
  name: string;
  binary: string;
  args: string[];
  port: number;
  /** The daemon's own temp dir (its config, its work files): removed when it stops. */
  dir: string;
  /** What asks it to finish what it does and exit (nginx: SIGQUIT). */
  stopSignal: NodeJS.Signals;
  /** A request any answer of which means the daemon listens. */
  probe: { path: string; method: "HEAD" | "POST" };
  readyTimeoutMs: number;
};

const STOP_GRACE_MS = 3_000;

/** Runs a server binary in the foreground, as a child of this process, and waits until it answers over HTTP. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { name, binary, args, port, dir, stopSignal, probe, readyTimeoutMs } = options;
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = track(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.once("error", (error) => (output += `${error.message}\n`));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child, exited, stopSignal, STOP_GRACE_MS);
    await rm(dir, { recursive: true, force: true });
  };
  const answers = () =>
    fetch(`${url}${probe.path}`, { method: probe.method }).then(
      () => true,
      () => false,
    );
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await answers())) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, output: () => output, stop };
}
