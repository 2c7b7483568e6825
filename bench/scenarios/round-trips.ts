import type { Redis } from "ioredis";
import type { Bridge } from "../../redis-bridge/server";
import type { FaultProxy } from "../../harness/fault-proxy";
import { round } from "../summary";

/** Redis commands and round trips a contender's store traffic cost. */
export type Traffic = { commands: number; roundTrips: number };

/** Where a contender's store traffic is counted: `start` before the work, `stop` after it. */
export type TrafficMeter = { start(): Promise<void>; stop(): Promise<Traffic> };

/** What `meter` counted while `work` ran, each divided by `per`. */
export async function trafficPer(meter: TrafficMeter, per: number, work: () => Promise<unknown>): Promise<Traffic> {
  await meter.start();
  await work();
  // A lease release may follow the response by a moment.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const { commands, roundTrips } = await meter.stop();
  return { commands: round(commands / per, 2), roundTrips: round(roundTrips / per, 2) };
}

/** Upstash's REST protocol: the commands in the requests the bridge served, and its HTTP requests. */
export function bridgeMeter(bridge: Bridge): TrafficMeter {
  return {
    start: async () => bridge.resetStats(),
    stop: async () => {
      const { commands, requests } = bridge.stats();
      return { commands, roundTrips: requests };
    },
  };
}

/**
 * Native Redis over TCP: the commands redis-server ran for its clients (MONITOR, less those marked as run
 * by a script, which the bridge does not count either), and the write bursts the TCP proxy between the
 * app and redis-server passed on. Monitoring costs redis-server some work, so it is on only while counting.
 */
export function tcpMeter(client: Redis, proxy: FaultProxy): TrafficMeter {
  let monitor: Redis | undefined;
  let commands = 0;
  return {
    async start() {
      commands = 0;
      monitor = await client.monitor();
      monitor.on("monitor", (_time: string, _args: string[], source: string) => {
        if (source !== "lua") commands += 1;
      });
      proxy.resetStats();
    },
    async stop() {
      monitor?.disconnect();
      monitor = undefined;
      return { commands, roundTrips: proxy.stats().requests };
    },
  };
}

/**
 * At redis-server itself, for the seed, which talks to Redis directly and sends each command as its own
 * round trip (and runs no scripts, whose inner commands this count would include).
 */
export function serverMeter(client: Redis): TrafficMeter {
  let before = 0;
  return {
    async start() {
      before = await processedCommands(client);
    },
    async stop() {
      // The second INFO counts the first.
      const commands = (await processedCommands(client)) - before - 1;
      return { commands, roundTrips: commands };
    },
  };
}

async function processedCommands(client: Redis): Promise<number> {
  const match = /total_commands_processed:(\d+)/.exec(await client.info("stats"));
  return Number(match?.[1]);
}
