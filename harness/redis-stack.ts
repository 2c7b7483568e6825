import { randomBytes } from "node:crypto";
import { join } from "node:path";
import IORedis from "ioredis";
import { createBridge, type Bridge } from "../redis-bridge/server";
import { freePort } from "./free-port";
import { startRedisServer, type RedisServerHandle } from "./redis-server";
import { startServiceProcess } from "./service-process";

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
  // Tests stop this Redis on purpose: the assertion client's reconnection errors are expected.
  client.on("error", () => undefined);
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
  const bridge = await startServiceProcess({
    name: "The bridge",
    args: ["--import", "tsx", join(ROOT, "redis-bridge/main.ts")],
    env: { ...process.env, BRIDGE_REDIS_URL: redisUrl, BRIDGE_PORT: String(port), BRIDGE_TOKEN: token },
    port,
    cwd: ROOT,
    timeoutMs: 15_000,
    // Any HTTP answer (401 without a token) means the bridge listens.
    ready: async (url) => (await fetch(url, { method: "POST" })).status > 0,
  });
  return { url: bridge.url, close: () => bridge.stop() };
}
