import type { Page } from "@playwright/test";

export type ProfileName = "loopback" | "4G" | "3G";

/** Chromium's DevTools network emulation: added latency per request (ms), and throughput in bytes/s. */
export type NetworkConditions = { latency: number; downloadThroughput: number; uploadThroughput: number };

export type NetworkProfile = { name: ProfileName; description: string; conditions?: NetworkConditions };

const bytesPerSecond = (bitsPerSecond: number) => bitsPerSecond / 8;

/**
 * The networks every browser view is measured on. On loopback a request costs next to nothing, which
 * hides what a design's round trips cost a visitor; the other two add them back (DevTools' fast-4G-like
 * and slow-3G-like presets).
 */
export const NETWORK_PROFILES: NetworkProfile[] = [
  { name: "loopback", description: "no emulation" },
  {
    name: "4G",
    description: "40 ms latency, 9 Mbit/s down, 1.5 Mbit/s up",
    conditions: {
      latency: 40,
      downloadThroughput: bytesPerSecond(9_000_000),
      uploadThroughput: bytesPerSecond(1_500_000),
    },
  },
  {
    name: "3G",
    description: "400 ms latency, 400 kbit/s down and up",
    conditions: {
      latency: 400,
      downloadThroughput: bytesPerSecond(400_000),
      uploadThroughput: bytesPerSecond(400_000),
    },
  },
];

/**
 * Applies `conditions` to every request of `page` (its subresources and later navigations too) through a
 * DevTools session of its own. The HTTP cache stays on: a returning visitor's cached scripts cost nothing.
 */
export async function emulateNetwork(page: Page, conditions: NetworkConditions): Promise<void> {
  const session = await page.context().newCDPSession(page);
  await session.send("Network.enable");
  await session.send("Network.emulateNetworkConditions", { offline: false, ...conditions });
}
