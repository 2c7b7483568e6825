import "server-only";
import { Redis } from "@upstash/redis";
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

export type UpstashStoreOptions = {
  url: string;
  token: string;
  /** Budget for one HTTP round trip; the request is aborted past it. */
  timeoutMs: number;
};

/**
 * Upstash Redis through its REST client; commands issued in one tick share one HTTP request. Scripts go
 * as EVAL: over REST a script's text costs bytes, not a round trip, and EVALSHA's NOSCRIPT retry would.
 */
export class UpstashStore implements SharedStore {
  readonly kind = "upstash";
  private readonly redis: Redis;

  constructor({ url, token, timeoutMs }: UpstashStoreOptions) {
    this.redis = new Redis({
      url,
      token,
      // The client's default retries back off for ~4 s; a page never waits that long for its cache.
      retry: false,
      // A function (not a signal) makes an abort throw instead of resolving to a fake "Aborted" result.
      signal: () => AbortSignal.timeout(timeoutMs),
      // Values are the app's own strings: "123" must not come back as the number 123.
      automaticDeserialization: false,
      enableTelemetry: false,
    });
  }

  async read(keys: ItemKeys, knownVersion = ""): Promise<StoredEntry | null> {
    return parseRead(await this.redis.eval(READ, [keys.entry], [knownVersion]));
  }

  async claim(keys: ItemKeys, token: string, leaseMs: number, dueWithinMs = 0): Promise<Claim> {
    return parseClaim(
      await this.redis.eval(CLAIM, itemKeys(keys), [token, ms(leaseMs), String(Math.floor(dueWithinMs))]),
    );
  }

  async fill(
    keys: ItemKeys,
    token: string,
    value: string,
    lifetimes: Lifetimes,
    validators?: Validators,
  ): Promise<boolean> {
    return parseWritten(
      await this.redis.eval(FILL, itemKeys(keys), fillArgs(token, value, lifetimes, validators, keys.bus)),
    );
  }

  async renew(keys: ItemKeys, token: string, version: string, lifetimes: Lifetimes): Promise<boolean> {
    return parseWritten(await this.redis.eval(RENEW, itemKeys(keys), renewArgs(token, version, lifetimes, keys.bus)));
  }

  async fail(keys: ItemKeys, token: string, failure: FailureRecord): Promise<boolean> {
    return parseWritten(await this.redis.eval(FAIL, itemKeys(keys), failArgs(token, failure, keys.bus)));
  }

  async gate({ hold, slots }: GateKeys, windowMs: number): Promise<GateAnswer> {
    return parseGate(await this.redis.eval(GATE, [hold, ...slots], [ms(windowMs)]));
  }

  async hold({ hold }: GateKeys, holdMs: number): Promise<void> {
    await this.redis.eval(HOLD, [hold], [ms(holdMs)]);
  }

  async release({ lease }: ItemKeys, token: string): Promise<void> {
    await this.redis.eval(RELEASE, [lease], [token]);
  }

  soften(keys: ItemKeys): Promise<number> {
    return this.redis.eval<string[], number>(SOFTEN, itemKeys(keys), [keys.bus]);
  }

  delete(keys: ItemKeys): Promise<number> {
    return this.redis.eval<string[], number>(DELETE_ITEM, itemKeys(keys), [keys.bus]);
  }

  async index(sets: readonly string[], member: string, term: IndexTerm): Promise<void> {
    await Promise.all(sets.map((set) => this.redis.eval(INDEX, [set], indexArgs(member, term))));
  }

  members(set: string): Promise<string[]> {
    return this.redis.zrange<string[]>(set, 0, -1);
  }

  async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, { match: pattern, count: 500 });
      if (keys.length > 0) deleted += await this.redis.del(...keys);
      cursor = String(next);
    } while (cursor !== "0");
    return deleted;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.redis.publish(channel, message);
  }

  /**
   * Upstash's streaming subscribe: one long HTTP response of server-sent events per channel. The client
   * reports a refused request, but not a stream that ends: the bus's heartbeat finds that out.
   */
  subscribe(channels: readonly string[], listener: BusListener): BusSubscription {
    const subscriber = this.redis.subscribe<string>([...channels]);
    subscriber.on("message", ({ message }) => listener.message(message));
    subscriber.on("error", (error) => listener.lost(error.message));
    return { close: () => void subscriber.unsubscribe().catch(() => undefined) };
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }
}
