import { ConfigError } from "../lib/config-error";
import { createBridge } from "./server";

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
const DEFAULT_PORT = 8079;

type Config = { redisUrl: string; port: number; token: string };

function readConfig(env: NodeJS.ProcessEnv): Config {
  const token = env.BRIDGE_TOKEN;
  if (!token) {
    throw new ConfigError(
      "BRIDGE_TOKEN is required: the bearer token clients must send (their UPSTASH_REDIS_REST_TOKEN).",
    );
  }
  return {
    redisUrl: parseRedisUrl(env.BRIDGE_REDIS_URL || DEFAULT_REDIS_URL),
    port: parsePort(env.BRIDGE_PORT || String(DEFAULT_PORT)),
    token,
  };
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) {
    throw new ConfigError(`BRIDGE_PORT must be an integer from 1 to 65535, got "${raw}".`);
  }
  return port;
}

function parseRedisUrl(raw: string): string {
  if (!URL.canParse(raw) || !["redis:", "rediss:"].includes(new URL(raw).protocol)) {
    throw new ConfigError(`BRIDGE_REDIS_URL must be a redis:// or rediss:// URL, got "${raw}".`);
  }
  return raw;
}

/** The URL with its password masked, fit for a log line. */
function redact(redisUrl: string): string {
  const url = new URL(redisUrl);
  if (url.password) url.password = "***";
  return url.toString();
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const bridge = await createBridge(config);
  console.info(`Upstash REST bridge on ${bridge.url} -> ${redact(config.redisUrl)}`);
  const shutdown = () => {
    bridge.close().catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
});
