import type {
  Claim,
  FailureRecord,
  GateAnswer,
  IndexTerm,
  ItemKeys,
  Lifetimes,
  Validators,
  StoredEntry,
  StoredFailure,
} from "./store";

// How both Redis stores call the scripts of scripts.ts: their arguments, and the parsing of their replies.

/** Reply values as either client hands them over: bulk strings as strings (or null), integers as numbers. */
type Reply = unknown;

function integer(reply: Reply): number {
  const number = Number(reply);
  if (!Number.isFinite(number)) throw new TypeError(`expected an integer in a script reply, got ${typeof reply}`);
  return number;
}

function entryOf(
  value: Reply,
  version: Reply,
  ageMs: Reply,
  freshForMs: Reply,
  staleForMs: Reply,
  safeForMs: Reply,
  validators: Reply,
): StoredEntry | undefined {
  if (typeof version !== "string") return undefined;
  return {
    value: typeof value === "string" ? value : undefined,
    ...(typeof validators === "string" && { validators: parseValidators(validators) }),
    version,
    ageMs: integer(ageMs),
    freshForMs: integer(freshForMs),
    staleForMs: integer(staleForMs),
    safeForMs: integer(safeForMs),
  };
}

function failureOf(error: Reply, attempts: Reply, retryInMs: Reply): StoredFailure | undefined {
  if (typeof error !== "string") return undefined;
  return { error, attempts: integer(attempts), retryInMs: integer(retryInMs) };
}

function fields(reply: Reply, length: number): Reply[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new TypeError("unexpected shape of a script reply");
  return reply as Reply[];
}

export function parseGate(reply: Reply): GateAnswer {
  const [open, wait, reason] = fields(reply, 3);
  if (integer(open) === 1) return { open: true };
  return { open: false, reason: reason === "held" ? "held" : "rate", retryInMs: integer(wait) };
}

export function parseRead(reply: Reply): StoredEntry | null {
  const [value, version, ageMs, freshForMs, staleForMs, safeForMs, validators] = fields(reply, 7);
  return entryOf(value, version, ageMs, freshForMs, staleForMs, safeForMs, validators) ?? null;
}

export function parseClaim(reply: Reply): Claim {
  const [leased, value, version, ageMs, freshForMs, staleForMs, safeForMs, validators, error, attempts, retryInMs] =
    fields(reply, 11);
  const entry = entryOf(value, version, ageMs, freshForMs, staleForMs, safeForMs, validators);
  return {
    leased: integer(leased) === 1,
    entry: entry?.value === undefined ? undefined : { ...entry, value: entry.value },
    failure: failureOf(error, attempts, retryInMs),
  };
}

/** Script arguments are strings on the wire; lifetimes are whole milliseconds. */
export function ms(value: number): string {
  return String(Math.max(1, Math.ceil(value)));
}

/** Whether FILL or FAIL wrote: false when the lease no longer held the load's token. */
export function parseWritten(reply: Reply): boolean {
  return integer(reply) === 1;
}

/** KEYS of CLAIM, FILL, FAIL and DELETE_ITEM, in their order. */
export function itemKeys({ entry, lease, failure }: ItemKeys): string[] {
  return [entry, lease, failure];
}

/** ARGV of FILL; `channel` "" when the store publishes the event itself. */
export function fillArgs(
  token: string,
  value: string,
  lifetimes: Lifetimes,
  validators: Validators | undefined,
  channel: string,
): string[] {
  return [token, value, ...lifetimeArgs(lifetimes), validators ? JSON.stringify(validators) : "", channel];
}

/** ARGV of RENEW. */
export function renewArgs(token: string, version: string, lifetimes: Lifetimes, channel: string): string[] {
  return [token, version, ...lifetimeArgs(lifetimes), channel];
}

function lifetimeArgs({ freshMs, graceMs, failSafeMs }: Lifetimes): string[] {
  const whole = (duration: number) => String(Math.max(0, Math.ceil(duration)));
  return [ms(freshMs), whole(graceMs), whole(failSafeMs)];
}

/** Validators as a store keeps them: anything but strings is dropped, so a bad entry cannot mislead a refresh. */
function parseValidators(text: string): Validators | undefined {
  try {
    const { etag, lastModified } = JSON.parse(text) as Record<string, unknown>;
    const kept = {
      ...(typeof etag === "string" && { etag }),
      ...(typeof lastModified === "string" && { lastModified }),
    };
    return Object.keys(kept).length > 0 ? kept : undefined;
  } catch {
    return undefined;
  }
}

/** ARGV of INDEX. */
export function indexArgs(member: string, { untilMs, dropBeforeMs, keepMs }: IndexTerm): string[] {
  return [member, String(Math.round(untilMs)), String(Math.round(dropBeforeMs)), String(Math.round(keepMs))];
}

/** ARGV of FAIL. */
export function failArgs(
  token: string,
  { error, attempts, retryInMs, keepMs }: FailureRecord,
  channel: string,
): string[] {
  return [token, error, String(attempts), ms(retryInMs), ms(keepMs), channel];
}
