/**
 * What the bus carries, as text: `<kind> <version | -> <subject>`. The scripts write the same form in Lua
 * (`announce`), their subject being the entry's Redis key; a heartbeat's subject is the instance that sent it.
 */
export type BusMessage = {
  /**
   * `fill`: a load stored `version`; `renew`: `version` was kept with new lifetimes (a 304); `soft`: it was
   * made stale; `fail`: a load recorded a failure; `gone`: the item was purged; `all`: every item was;
   * `ping`: an instance's heartbeat.
   */
  kind: BusKind;
  version?: string;
  subject: string;
};

export type BusKind = "fill" | "renew" | "soft" | "fail" | "gone" | "all" | "ping";

const KINDS: ReadonlySet<string> = new Set<BusKind>(["fill", "renew", "soft", "fail", "gone", "all", "ping"]);

export function busMessage({ kind, version, subject }: BusMessage): string {
  return `${kind} ${version ?? "-"} ${subject}`;
}

/** Undefined for anything not in the bus's form (another app's message on a shared server). */
export function parseBusMessage(text: string): BusMessage | undefined {
  const first = text.indexOf(" ");
  const second = text.indexOf(" ", first + 1);
  if (first < 0 || second < 0) return undefined;
  const kind = text.slice(0, first);
  if (!KINDS.has(kind)) return undefined;
  const version = text.slice(first + 1, second);
  return { kind: kind as BusKind, ...(version !== "-" && { version }), subject: text.slice(second + 1) };
}
