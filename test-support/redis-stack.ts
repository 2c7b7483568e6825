import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import IORedis from "ioredis";
import { createBridge, type Bridge } from "../scripts/redis-bridge/server";
import { freePort } from "./free-port";
import { startRedisServer, type RedisServerHandle } from "./redis-server";

export type RedisStack = {
  redis: RedisServerHandle;
  token: string;
  /** The bridge's base URL. */
  bridgeUrl: string;
  /** The bridge itself, with its command counters, when it runs inside this process. */
  bridge?: Bridge;
  /** A direct client for assertions, as `redis-cli` would see the data. */
  client: IORedis;
  /** What the app needs to use this Redis through the bridge. */
  env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  stop(): Promise<void>;
};

export type RedisStackOptions = {
  /**
   * Run the bridge as its own process (`npm run redis:bridge`), as a remote Redis service would be, so a
   * test that loads the apps from this process does not slow the bridge down. @default false
   */
  separateProcess?: boolean;
};

const ROOT = join(__dirname, "..");

/** A throwaway redis-server with the Upstash-protocol bridge in front of it. */
export async function startRedisStack({ separateProcess = false }: RedisStackOptions = {}): Promise<RedisStack> {
  const redis = await startRedisServer();
  const token = randomBytes(16).toString("hex");
  const bridged = separateProcess
    ? await spawnBridge(redis.url, token)
    : await createBridge({ redisUrl: redis.url, token, port: 0 }).then((bridge) => ({
        url: bridge.url,
        bridge,
        close: () => bridge.close(),
      }));
  const client = new IORedis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    redis,
    token,
    bridgeUrl: bridged.url,
    bridge: "bridge" in bridged ? (bridged.bridge as Bridge) : undefined,
    client,
    env: { UPSTASH_REDIS_REST_URL: bridged.url, UPSTASH_REDIS_REST_TOKEN: token },
    async stop() {
      client.disconnect();
      await bridged.close();
      await redis.stop();
    },
  };
}

async function spawnBridge(redisUrl: string, token: string) {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts/redis-bridge/main.ts")], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, BRIDGE_PORT: String(port), BRIDGE_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.once("exit", () => child.kill("SIGKILL"));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  // Any HTTP answer (401 without a token) means the bridge listens.
  while ((await fetch(url, { method: "POST" }).then((response) => response.status, () => 0)) === 0) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`The bridge did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async close() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
