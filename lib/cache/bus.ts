import { randomUUID } from "node:crypto";
import { logEvent } from "../log";
import { busMessage, parseBusMessage, type BusKind } from "../stores/bus-message";
import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { BusSubscription } from "../stores/store";

/**
 * `connecting`: subscribed, the instance's own heartbeat not yet heard back; `up`: heard on every channel
 * lately; `down`: lost, or not heard for too long (reconnecting).
 */
export type BusState = "connecting" | "up" | "down";

export type BusStats = {
  state: BusState;
  /** Changes heard (heartbeats not counted). */
  events: number;
  /** Times the bus came back after being down. */
  resumed: number;
  /** How long the last outage lasted, from the last heartbeat heard before it to the first after (ms). */
  lastGapMs?: number;
};

/** A change the bus carried: one item's (by cache key), or every item's. */
export type BusChange = { kind: Exclude<BusKind, "ping" | "all">; key: string; version?: string } | { kind: "all" };

export type BusOptions = {
  shared: GuardedStore;
  layout: KeyLayout;
  /** How often this instance sends its heartbeat on every channel, and so how soon it notices a silent loss. */
  heartbeatMs: number;
  now: () => number;
  onChange(change: BusChange): void;
  /** The bus is back after being down (or up for the first time): changes may have gone unheard meanwhile. */
  onResume(): void;
};

/** Heard back within this many heartbeats, or the bus counts as down. */
const LATE_AFTER_BEATS = 2.5;
/** Down for this many heartbeats with nothing heard since the client reported the loss: the subscription is made anew. */
const RESUBSCRIBE_AFTER_BEATS = 3;

/** A wait for the next change of one key. */
export type Watch = { changed: Promise<void>; close(): void };

/**
 * This instance's ear on the fleet: a subscription to the bus's channels through the shared store, kept
 * alive and checked by a heartbeat it sends itself, which also tells a lost subscription that the store's
 * client does not report (an Upstash stream that ended). The bus only accelerates: whatever it misses, the
 * trust window of the in-process tier still bounds.
 */
export class Bus {
  readonly stats: BusStats = { state: "connecting", events: 0, resumed: 0 };
  private readonly id = randomUUID();
  private readonly channels: readonly string[];
  private readonly heard: number[];
  private readonly watchers = new Map<string, Set<() => void>>();
  private subscription: BusSubscription | undefined;
  private subscribedAt = 0;
  private downSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BusOptions) {
    this.channels = options.layout.busChannels;
    this.heard = this.channels.map(() => 0);
  }

  get up(): boolean {
    return this.stats.state === "up";
  }

  start(): void {
    if (this.timer) return;
    this.subscribe();
    this.timer = setInterval(() => this.beat(), this.options.heartbeatMs);
    // The bus never keeps a process alive on its own.
    this.timer.unref();
    this.beat();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.subscription?.close();
    this.subscription = undefined;
  }

  /**
   * Settles at the next change of `key` heard (or of every key); taken before the store is asked, so a
   * change that lands between the store's answer and the wait is not missed.
   */
  watch(key: string): Watch {
    let wake = () => {};
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const set = this.watchers.get(key) ?? new Set();
    set.add(wake);
    this.watchers.set(key, set);
    const close = () => {
      set.delete(wake);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
    return { changed, close };
  }

  /** Tells every instance that every item was purged. */
  async announceAll(): Promise<void> {
    await Promise.all(
      this.channels.map((channel) =>
        this.options.shared.publish(channel, busMessage({ kind: "all", subject: this.id })),
      ),
    );
  }

  private subscribe(): void {
    this.subscription?.close();
    const subscription = this.options.shared.subscribe(this.channels, {
      message: (text) => {
        if (this.subscription === subscription) this.hear(text);
      },
      lost: (reason) => {
        if (this.subscription === subscription) this.lose(reason);
      },
    });
    this.subscription = subscription;
    this.subscribedAt = this.options.now();
  }

  private hear(text: string): void {
    const message = parseBusMessage(text);
    if (!message) return;
    const { kind, version, subject } = message;
    if (kind === "ping") {
      const index = Number(version);
      if (subject === this.id && Number.isInteger(index) && index >= 0 && index < this.heard.length)
        this.heartbeatHeard(index);
      return;
    }
    this.stats.events += 1;
    if (kind === "all") {
      this.options.onChange({ kind });
      for (const key of [...this.watchers.keys()]) this.wake(key);
      return;
    }
    const key = this.options.layout.keyOfEntry(subject);
    if (key === undefined) return;
    this.options.onChange(version === undefined ? { kind, key } : { kind, key, version });
    this.wake(key);
  }

  private wake(key: string): void {
    const set = this.watchers.get(key);
    if (!set) return;
    this.watchers.delete(key);
    for (const wake of set) wake();
  }

  private heartbeatHeard(index: number): void {
    const now = this.options.now();
    this.heard[index] = now;
    if (this.stats.state === "up" || !this.heard.every((at) => at >= this.subscribedAt)) return;
    const wasDown = this.downSince !== undefined;
    if (wasDown) {
      this.stats.resumed += 1;
      this.stats.lastGapMs = now - this.downSince!;
      logEvent("info", "bus_resumed", { gapMs: this.stats.lastGapMs });
    }
    this.downSince = undefined;
    this.stats.state = "up";
    this.options.onResume();
  }

  private lose(reason: string): void {
    if (this.stats.state === "down") return;
    // Changes published since the last heartbeat heard may not have arrived.
    const lastHeard = Math.min(...this.heard);
    this.downSince = lastHeard > 0 ? lastHeard : this.options.now();
    if (this.stats.state === "up") logEvent("warn", "bus_lost", { reason });
    this.stats.state = "down";
    // A fresh subscription must be heard on every channel before the bus counts as up again.
    this.subscribedAt = this.options.now();
  }

  private beat(): void {
    const { heartbeatMs, now, shared } = this.options;
    const at = now();
    if (this.stats.state === "up" && this.heard.some((heardAt) => at - heardAt > heartbeatMs * LATE_AFTER_BEATS)) {
      // Lost without a word from the client (an Upstash stream that ended): it will not come back by itself.
      this.lose("heartbeat not heard");
      this.subscribe();
    } else if (this.stats.state !== "up" && at - this.subscribedAt > heartbeatMs * RESUBSCRIBE_AFTER_BEATS) {
      this.subscribe();
      if (this.stats.state === "connecting") this.stats.state = "down";
    }
    this.channels.forEach((channel, index) => {
      void shared.publish(channel, busMessage({ kind: "ping", version: String(index), subject: this.id }));
    });
  }
}
