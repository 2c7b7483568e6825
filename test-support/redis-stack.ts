import { randomBytes } from "node:crypto";
import IORedis from "ioredis";
import { createBridge, type Bridge } from "../scripts/redis-bridge/server";
import { startRedisServer, type RedisServerHandle } from "./redis-server";

export type RedisStack = {
  redis: RedisServerHandle;
  bridge: Bridge;
  token: string;
  /** A direct client for assertions, as `redis-cli` would see the data. */
  client: IORedis;
  /** What the app needs to use this Redis through the bridge. */
  env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  stop(): Promise<void>;
};

/** A throwaway redis-server with the Upstash-protocol bridge in front of it. */
export async function startRedisStack(): Promise<RedisStack> {
  const redis = await startRedisServer();
  const token = randomBytes(16).toString("hex");
  const bridge = await createBridge({ redisUrl: redis.url, token, port: 0 });
  const client = new IORedis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    redis,
    bridge,
    token,
    client,
    env: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token },
    async stop() {
      client.disconnect();
      await bridge.close();
      await redis.stop();
    },
  };
}
