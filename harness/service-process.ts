import { spawn } from "node:child_process";
import { track } from "./child-processes";

export type ServiceProcess = {
  /** `http://127.0.0.1:PORT` */
  url: string;
  pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends `signal` (SIGTERM by default) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export type ServiceOptions = {
  /** Named in errors. */
  name: string;
  /** Arguments to node: a script and its own arguments. */
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  cwd?: string;
  /** Resolves true once the service answers at `url`; false (or a rejection) means not yet. */
  ready: (url: string) => Promise<boolean>;
  timeoutMs?: number;
};

/** Starts a Node.js service as its own process on 127.0.0.1 and waits until it answers. */
export async function startServiceProcess(options: ServiceOptions): Promise<ServiceProcess> {
  const { name, args, env, port, cwd, ready, timeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = track(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (!(await ready(url).catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`${name} exited during start:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    pid: child.pid ?? 0,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
