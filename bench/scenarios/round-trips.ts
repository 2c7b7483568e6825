import type { Redis } from "ioredis";
import type { Bridge } from "../../scripts/redis-bridge/server";
import { round } from "../summary";

/** Redis commands and HTTP round trips the bridge saw while `work` ran, each divided by `per`. */
export type Traffic = { commands: number; roundTrips: number };

export async function trafficPer(bridge: Bridge, per: number, work: () => Promise<unknown>): Promise<Traffic> {
  bridge.resetStats();
  await work();
  // A lease release may follow the response by a moment.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const { commands, requests } = bridge.stats();
  return { commands: round(commands / per, 2), roundTrips: round(requests / per, 2) };
}

/**
 * The same, counted at redis-server itself, for the seed, which talks to Redis directly and sends each
 * command as its own round trip.
 */
export async function redisTrafficPer(client: Redis, per: number, work: () => Promise<unknown>): Promise<Traffic> {
  const before = await processedCommands(client);
  await work();
  // The second INFO counts itself once.
  const commands = round(((await processedCommands(client)) - before - 1) / per, 2);
  return { commands, roundTrips: commands };
}

async function processedCommands(client: Redis): Promise<number> {
  const match = /total_commands_processed:(\d+)/.exec(await client.info("stats"));
  return Number(match?.[1]);
}
