import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopChild, track } from "./child-processes";
import { freePort } from "./free-port";

export type RedisServerHandle = {
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** SIGTERM, then waits for the process to exit. Does nothing when already stopped. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: no shutdown, no goodbye to a cluster's other nodes. Does nothing when already stopped. */
  kill(): Promise<void>;
  /** Starts again on the same port after `stop()`. Does nothing when already running. */
  start(): Promise<void>;
};

/** redis-server did not come up answering commands; the message carries its output. */
export class RedisServerStartError extends Error {
  override name = "RedisServerStartError";
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 500;
const PROBE_INTERVAL_MS = 25;
const STOP_GRACE_MS = 3_000;
const OUTPUT_TAIL_CHARS = 4_000;

export type RedisServerOptions = {
  /** @default a free port */
  port?: number;
  /** Extra `redis-server` arguments, after the defaults so they can override them. @default [] */
  args?: string[];
  /**
   * Working directory (where `nodes.conf` lives in cluster mode). The caller owns it: it is kept across
   * `stop()`/`start()` and never removed. @default a fresh temp dir per start, removed on stop
   */
  dir?: string;
};

/** Spawns a throwaway redis-server (no persistence, temp dir) on 127.0.0.1 and waits until it answers. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const server = new ManagedRedisServer(port, options.args ?? [], options.dir);
  await server.start();
  return {
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => server.stop(),
    kill: () => server.stop("SIGKILL"),
    start: () => server.start(),
  };
}

type Running = {
  child: ChildProcess;
  /** The temp dir to remove on exit; null when the caller owns the dir. */
  ownDir: string | null;
  exited: Promise<void>;
  hasExited: () => boolean;
  output: () => string;
};

class ManagedRedisServer {
  private running: Running | null = null;

  constructor(
    private readonly port: number,
    private readonly args: string[],
    private readonly dir: string | undefined,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    const running = await spawnRedis(this.port, this.args, this.dir);
    try {
      await waitForPing(this.port, running);
    } catch (error) {
      await terminate(running);
      throw error;
    }
    this.running = running;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = null;
    await terminate(running, signal);
  }
}

function redisBinary(): string {
  return existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
}

async function spawnRedis(port: number, extraArgs: string[], callerDir: string | undefined): Promise<Running> {
  const dir = callerDir ?? (await mkdtemp(join(tmpdir(), "redis-test-")));
  const ownDir = callerDir === undefined ? dir : null;
  const args = [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    "--logfile",
    "",
    "--enable-debug-command",
    "local",
    ...extraArgs,
  ];
  const child = spawn(redisBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited = false;
  const exitedPromise = track(child).then(() => void (exited = true));
  child.once("error", (error) => collect(Buffer.from(`${error.message}\n`)));
  return { child, ownDir, exited: exitedPromise, hasExited: () => exited, output: () => tail.trim() };
}

async function waitForPing(port: number, running: Running): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (running.hasExited()) {
      throw new RedisServerStartError(`redis-server on port ${port} exited during startup:\n${running.output()}`);
    }
    // Checking the pid, not just PONG, so a server already holding the port is not mistaken for ours.
    if ((await serverPid(port)) === running.child.pid) return;
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  throw new RedisServerStartError(
    `redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS} ms:\n${running.output()}`,
  );
}

/** The `process_id` reported by `INFO server`, or null when nothing usable answers. */
function serverPid(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let received = "";
    const finish = (pid: number | null) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish(null));
    socket.once("error", () => finish(null));
    socket.once("close", () => finish(null));
    socket.once("connect", () => socket.write("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"));
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      if (received.startsWith("-")) return finish(null);
      const match = /process_id:(\d+)\r\n/.exec(received);
      if (match?.[1]) finish(Number(match[1]));
    });
  });
}

async function terminate(running: Running, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  await stopChild(running.child, running.exited, signal, STOP_GRACE_MS);
  if (running.ownDir !== null) await rm(running.ownDir, { recursive: true, force: true });
}
