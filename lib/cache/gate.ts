import type { GuardedStore } from "../stores/guarded";
import type { KeyLayout } from "../stores/keys";
import type { GateAnswer } from "../stores/store";
import { BusyError } from "./errors";
import type { Group } from "./policy";

/** Most rate slots a gate keeps; a rate of more calls is kept as the same rate over a shorter window. */
const MAX_SLOTS = 32;
/** Longest an upstream's `Retry-After` holds its source off: a wrong header must not silence it for a day. */
export const MAX_HOLD_MS = 600_000;

/** A rate as slots: no more than `slots` calls start within any `windowMs`. */
function slotsOf({ calls, perMs }: NonNullable<Group["rate"]>): { slots: number; windowMs: number } {
  const slots = Math.min(calls, MAX_SLOTS);
  return { slots, windowMs: Math.ceil((perMs * slots) / calls) };
}

/**
 * Whether a source may call its upstream now: not while the upstream has asked it to wait (a `Retry-After`
 * heard by any instance), and no more often than its rate, counted across the fleet in the shared store, on
 * its clock. Without a shared store, or while it does not answer, this process counts alone.
 */
export class Gate {
  private readonly holds = new Map<string, number>();
  private readonly taken = new Map<string, number[]>();

  constructor(
    private readonly shared: GuardedStore | undefined,
    private readonly layout: KeyLayout,
    private readonly now: () => number,
    /** Keeps the store's write of a hold alive past the response that heard the upstream's answer. */
    private readonly inBackground: (task: Promise<unknown>) => void,
  ) {}

  /**
   * The refusal when the upstream asked `group` to wait, here or on any instance; undefined otherwise. Cheap
   * enough to ask beside a load's first claim, in the same round trip.
   */
  async held(group: Group): Promise<BusyError | undefined> {
    return this.heldHere(group) ?? (await this.ask(group, 0, 1));
  }

  /**
   * For a group with a rate: takes a slot, or answers the refusal (held, or at its rate) saying how long to
   * wait. Undefined when a call may start now.
   */
  async take(group: Group): Promise<BusyError | undefined> {
    if (!group.rate) return this.held(group);
    const { slots, windowMs } = slotsOf(group.rate);
    return this.heldHere(group) ?? (await this.ask(group, slots, windowMs));
  }

  private heldHere(group: Group): BusyError | undefined {
    const heldFor = (this.holds.get(group.name) ?? 0) - this.now();
    return heldFor > 0 ? refusal(group.name, { open: false, reason: "held", retryInMs: heldFor }) : undefined;
  }

  private async ask(group: Group, slots: number, windowMs: number): Promise<BusyError | undefined> {
    const fleet = this.shared && (await this.shared.gate(this.layout.gate(group.name, slots), windowMs));
    const answer = fleet ?? this.passHere(group.name, slots, windowMs);
    return answer.open ? undefined : refusal(group.name, answer);
  }

  /** Holds `group` off its upstream for `ms` (capped), here at once and, through the store, on every instance. */
  hold(group: Group, ms: number): number {
    const holdMs = Math.min(Math.max(ms, 1000), MAX_HOLD_MS);
    const until = this.now() + holdMs;
    if (until > (this.holds.get(group.name) ?? 0)) this.holds.set(group.name, until);
    if (this.shared) this.inBackground(this.shared.hold(this.layout.gate(group.name, 0), holdMs));
    return holdMs;
  }

  private passHere(name: string, slots: number, windowMs: number): GateAnswer {
    if (slots === 0) return { open: true };
    const now = this.now();
    const live = (this.taken.get(name) ?? []).filter((until) => until > now);
    if (live.length < slots) {
      this.taken.set(name, [...live, now + windowMs]);
      return { open: true };
    }
    this.taken.set(name, live);
    return { open: false, reason: "rate", retryInMs: Math.min(...live) - now };
  }
}

function refusal(group: string, answer: Extract<GateAnswer, { open: false }>): BusyError {
  const why = answer.reason === "held" ? "its upstream asked to wait" : "it is at its upstream's rate";
  return new BusyError(`"${group}" may not call now: ${why}`, Math.max(answer.retryInMs, 1000), answer.reason);
}
