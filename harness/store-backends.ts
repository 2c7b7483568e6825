import { RedisStore } from "../lib/stores/redis";
import type { SharedStore, StoreKind } from "../lib/stores/store";
import { UpstashStore } from "../lib/stores/upstash";
import type { RedisClusterOptions } from "./redis-cluster";
import { startRedisTarget, type RedisTarget } from "./redis-targets";

/** A shared store on real servers, with the app's own clients: a new one per app instance. */
export type StoreBackend = RedisTarget & {
  /** A new client, as one app instance has; closed with the backend. */
  store(timeoutMs: number): SharedStore;
};

export async function startStoreBackend(kind: StoreKind, cluster: RedisClusterOptions = {}): Promise<StoreBackend> {
  const target = await startRedisTarget(kind, cluster);
  const clients: RedisStore[] = [];
  const { address } = target;
  const stopServers = target.stop;
  return Object.assign(target, {
    store(timeoutMs: number): SharedStore {
      if (address.kind === "upstash") return new UpstashStore({ url: address.url, token: address.token, timeoutMs });
      const store = new RedisStore({
        target: address.kind === "redis" ? address : { kind: address.kind, urls: address.urls },
        timeoutMs,
      });
      clients.push(store);
      return store;
    },
    async stop() {
      await Promise.all(clients.splice(0).map((store) => store.close()));
      await stopServers();
    },
  });
}
