import "server-only";
import { Cluster, type ClientContext, type Redis, type Result } from "ioredis";
import { describeError, logEvent } from "../log";
import { withTimeout } from "../timeout";
import { busMessage, type BusKind } from "./bus-message";
import { clusterClient, serverClient, subscriberClient } from "./redis-clients";
import { CLAIM, DELETE_ITEM, FAIL, FILL, GATE, HOLD, INDEX, READ, RELEASE, RENEW, SOFTEN } from "./scripts";
import {
  failArgs,
  fillArgs,
  indexArgs,
  itemKeys,
  ms,
  parseClaim,
  parseGate,
  parseRead,
  parseWritten,
  renewArgs,
} from "./script-calls";
import type {
  BusListener,
  BusSubscription,
  Claim,
  FailureRecord,
  GateAnswer,
  GateKeys,
  IndexTerm,
  ItemKeys,
  Lifetimes,
  SharedStore,
  StoredEntry,
  Validators,
} from "./store";

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext = { type: "default" }> {
    workerlessRead(entry: string, knownVersion: string): Result<unknown, Context>;
    workerlessClaim(...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessFill(...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessFail(...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessRenew(...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessSoften(...keys: string[]): Result<number, Context>;
    workerlessDeleteItem(...keys: string[]): Result<number, Context>;
    workerlessIndex(...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessGate(numberOfKeys: number, ...keysAndArgs: string[]): Result<unknown, Context>;
    workerlessHold(hold: string, ms: string): Result<unknown, Context>;
    workerlessRelease(lease: string, token: string): Result<unknown, Context>;
  }
}

export type RedisStoreOptions = {
  /** One server (`redis://` or `rediss://`, credentials in the URL), or a cluster's seed nodes. */
  target: { kind: "redis"; url: string } | { kind: "redis-cluster"; urls: string[] };
  /** Budget for one command; also bounds the wait for the first connection. */
  timeoutMs: number;
};

/** The connection is down and reconnecting: the command was not sent. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * Redis over TCP through ioredis, one server or a Redis Cluster. The scripts are defined once and sent as
 * EVALSHA (ioredis falls back to EVAL when a server answers NOSCRIPT). Nothing waits for Redis beyond the
 * budget: commands are never queued while the connection is down nor resent after it comes back, since a
 * claim sent late could take a lease nobody uses.
 */
export class RedisStore implements SharedStore {
  readonly kind: "redis" | "redis-cluster";
  private readonly client: Redis | Cluster;
  private reportedDown = false;
  private firstConnection: Promise<void> | undefined;

  constructor(private readonly options: RedisStoreOptions) {
    const { target } = options;
    this.kind = target.kind;
    this.client =
      target.kind === "redis"
        ? serverClient(target.url, options.timeoutMs)
        : clusterClient(target.urls, options.timeoutMs);
    this.client.defineCommand("workerlessRead", { numberOfKeys: 1, lua: READ, readOnly: true });
    this.client.defineCommand("workerlessClaim", { numberOfKeys: 3, lua: CLAIM });
    this.client.defineCommand("workerlessFill", { numberOfKeys: 3, lua: FILL });
    this.client.defineCommand("workerlessFail", { numberOfKeys: 3, lua: FAIL });
    this.client.defineCommand("workerlessRenew", { numberOfKeys: 3, lua: RENEW });
    this.client.defineCommand("workerlessSoften", { numberOfKeys: 3, lua: SOFTEN });
    this.client.defineCommand("workerlessDeleteItem", { numberOfKeys: 3, lua: DELETE_ITEM });
    this.client.defineCommand("workerlessIndex", { numberOfKeys: 1, lua: INDEX });
    this.client.defineCommand("workerlessGate", { lua: GATE });
    this.client.defineCommand("workerlessHold", { numberOfKeys: 1, lua: HOLD });
    this.client.defineCommand("workerlessRelease", { numberOfKeys: 1, lua: RELEASE });
    // Without a listener ioredis prints every reconnection failure; one line per outage is enough.
    this.client.on("error", (error: unknown) => {
      if (this.reportedDown) return;
      this.reportedDown = true;
      logEvent("warn", "store_connection", { store: this.kind, error: describeError(error) });
    });
    this.client.on("ready", () => (this.reportedDown = false));
  }

  async read(keys: ItemKeys, knownVersion = ""): Promise<StoredEntry | null> {
    await this.connected();
    return parseRead(await this.client.workerlessRead(keys.entry, knownVersion));
  }

  async claim(keys: ItemKeys, token: string, leaseMs: number, dueWithinMs = 0): Promise<Claim> {
    await this.connected();
    return parseClaim(
      await this.client.workerlessClaim(...itemKeys(keys), token, ms(leaseMs), String(Math.floor(dueWithinMs))),
    );
  }

  async fill(
    keys: ItemKeys,
    token: string,
    value: string,
    lifetimes: Lifetimes,
    validators?: Validators,
  ): Promise<boolean> {
    await this.connected();
    const args = fillArgs(token, value, lifetimes, validators, this.scriptChannel(keys));
    return this.announced(
      keys,
      "fill",
      token,
      parseWritten(await this.client.workerlessFill(...itemKeys(keys), ...args)),
    );
  }

  async renew(keys: ItemKeys, token: string, version: string, lifetimes: Lifetimes): Promise<boolean> {
    await this.connected();
    const args = renewArgs(token, version, lifetimes, this.scriptChannel(keys));
    return this.announced(
      keys,
      "renew",
      version,
      parseWritten(await this.client.workerlessRenew(...itemKeys(keys), ...args)),
    );
  }

  async fail(keys: ItemKeys, token: string, failure: FailureRecord): Promise<boolean> {
    await this.connected();
    const args = failArgs(token, failure, this.scriptChannel(keys));
    return this.announced(
      keys,
      "fail",
      undefined,
      parseWritten(await this.client.workerlessFail(...itemKeys(keys), ...args)),
    );
  }

  async gate({ hold, slots }: GateKeys, windowMs: number): Promise<GateAnswer> {
    await this.connected();
    // The number of keys varies with the rate: the call passes its count first.
    return parseGate(await this.client.workerlessGate(1 + slots.length, hold, ...slots, ms(windowMs)));
  }

  async hold({ hold }: GateKeys, holdMs: number): Promise<void> {
    await this.connected();
    await this.client.workerlessHold(hold, ms(holdMs));
  }

  async release({ lease }: ItemKeys, token: string): Promise<void> {
    await this.connected();
    await this.client.workerlessRelease(lease, token);
  }

  async soften(keys: ItemKeys): Promise<number> {
    await this.connected();
    const softened = await this.client.workerlessSoften(...itemKeys(keys), this.scriptChannel(keys));
    await this.announced(keys, "soft", undefined, softened === 1);
    return softened;
  }

  async delete(keys: ItemKeys): Promise<number> {
    await this.connected();
    const deleted = await this.client.workerlessDeleteItem(...itemKeys(keys), this.scriptChannel(keys));
    await this.announced(keys, "gone", undefined, true);
    return deleted;
  }

  async index(sets: readonly string[], member: string, term: IndexTerm): Promise<void> {
    await this.connected();
    // Each set may live on its own node of a cluster: one command per set.
    await Promise.all(sets.map((set) => this.client.workerlessIndex(set, ...indexArgs(member, term))));
  }

  async members(set: string): Promise<string[]> {
    await this.connected();
    return this.client.zrange(set, "0", "-1");
  }

  async deleteMatching(pattern: string): Promise<number> {
    await this.connected();
    const nodes = this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
    const counts = await Promise.all(nodes.map((node) => deleteOnNode(node, pattern)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.connected();
    if (this.client instanceof Cluster) await this.client.spublish(channel, message);
    else await this.client.publish(channel, message);
  }

  /**
   * On one server, SUBSCRIBE on a connection of its own, which ioredis reconnects and subscribes again. On a
   * Cluster, SSUBSCRIBE through a client of its own that keeps one connection per shard owning a channel.
   */
  subscribe(channels: readonly string[], listener: BusListener): BusSubscription {
    const { target, timeoutMs } = this.options;
    const subscriber =
      target.kind === "redis" ? subscriberClient(target.url, timeoutMs) : clusterClient(target.urls, timeoutMs, true);
    const failed = (error: unknown) => listener.lost(describeError(error));
    subscriber.on("error", () => undefined);
    if (subscriber instanceof Cluster) {
      subscriber.on("smessage", (_channel: string, message: string) => listener.message(message));
      subscriber.on("-node", () => listener.lost("a shard's connection closed"));
      for (const channel of channels) void subscriber.ssubscribe(channel).catch(failed);
    } else {
      subscriber.on("message", (_channel: string, message: string) => listener.message(message));
      subscriber.on("close", () => listener.lost("connection closed"));
      void subscriber.subscribe(...channels).catch(failed);
    }
    return { close: () => subscriber.disconnect() };
  }

  async ping(): Promise<void> {
    await this.connected();
    await this.client.ping();
  }

  /** The channel a script publishes its event on: none on a Cluster, where sharded channels have slots of their own. */
  private scriptChannel(keys: ItemKeys): string {
    return this.kind === "redis" ? keys.bus : "";
  }

  /**
   * On a Cluster, publishes the event of a step that `changed` an item on its sharded channel, right after the
   * step (a script may only reach its own slot); elsewhere the script did. Resolves with `changed`.
   */
  private async announced(
    keys: ItemKeys,
    kind: BusKind,
    version: string | undefined,
    changed: boolean,
  ): Promise<boolean> {
    if (changed && this.client instanceof Cluster)
      await this.client.spublish(keys.bus, busMessage({ kind, version, subject: keys.entry }));
    return changed;
  }

  /** Closes the connections (tests, shutdown). */
  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /**
   * Resolves once the client can send: at once when ready; within the budget while a first connection is
   * being made (a fresh instance's first page); never while reconnecting, when a command would only fail.
   */
  private async connected(): Promise<void> {
    const { status } = this.client;
    if (status === "ready") return;
    if (status === "wait" || status === "connecting" || status === "connect") {
      if (status === "wait") void this.client.connect().catch(() => undefined);
      this.firstConnection ??= new Promise((resolve) =>
        this.client.once("ready", () => {
          this.firstConnection = undefined;
          resolve();
        }),
      );
      const { timeoutMs } = this.options;
      await withTimeout(
        this.firstConnection,
        timeoutMs,
        () => new StoreUnavailableError(`no connection to ${this.kind} within ${timeoutMs} ms`),
      );
      return;
    }
    throw new StoreUnavailableError(`${this.kind} connection is ${status}`);
  }
}

/** Keys found on one node live in that node's slots, but not in one slot: delete them one by one, pipelined. */
async function deleteOnNode(node: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
    if (keys.length > 0) {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      const results = (await pipeline.exec()) ?? [];
      for (const [error, count] of results) {
        if (error) throw error;
        deleted += Number(count);
      }
    }
    cursor = next;
  } while (cursor !== "0");
  return deleted;
}
