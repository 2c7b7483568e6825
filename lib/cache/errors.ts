import { describeError } from "../log";

const BRAND = Symbol.for("workerless.load-error");

/**
 * A load failed: the loader threw or passed its budget, answered what the cache cannot keep, or another
 * instance's load failed. The cache logs each failure once, where it happened; callers test this one class.
 * A loader's own error is kept as the `cause`.
 */
export class LoadError extends Error {
  override name = "LoadError";
  readonly [BRAND] = true;
}

/**
 * Whether `error` is a `LoadError` made by any copy of this module. Each server bundle (the page, each route)
 * has its own copy while the cache is one per process, so `instanceof` fails for a failure the cache made in
 * another bundle.
 */
export function isLoadError(error: unknown): error is LoadError {
  return typeof error === "object" && error !== null && BRAND in error;
}

/** The loader did not finish within its budget (the source's upstream timeout). */
export class LoadTimeoutError extends LoadError {
  override name = "LoadTimeoutError";
}

/** The loader answered something JSON cannot carry as it is (undefined, a function, a bigint…). */
export class NotJsonError extends LoadError {
  override name = "NotJsonError";
}

/**
 * The loaded value, as JSON, is over the cache's size cap: its callers are served, and the key then backs off
 * like a failed load, fleet-wide, rather than calling the upstream again on every view.
 */
export class ValueTooLargeError extends LoadError {
  override name = "ValueTooLargeError";
}

/** Another instance's load of this key failed and the key is backing off fleet-wide; the message is that failure. */
export class SharedLoadError extends LoadError {
  override name = "SharedLoadError";
}

/**
 * No load was started: its group already has its most loads under way in this process. Nothing was called,
 * recorded or backed off; the caller may ask again after `retryAfterMs`, when one of those loads must be over.
 */
export class BusyError extends LoadError {
  override name = "BusyError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    /** Its group's loads fill this process (`in-flight`), it is at its rate, or its upstream asked to wait. */
    readonly reason: BusyReason = "in-flight",
  ) {
    super(message);
  }
}

export type BusyReason = "in-flight" | "rate" | "held";

/** Whether `error` is a `BusyError` made by any copy of this module (see `isLoadError`). */
export function isBusyError(error: unknown): error is BusyError {
  return isLoadError(error) && error.name === "BusyError";
}

/** A loader's own failure, wrapped so callers test one class; its message and its log line are the loader's error. */
class LoaderError extends LoadError {
  override name = "LoaderError";
}

/** The error a failed loader call is answered with: its own when it is a `LoadError`, else one that wraps it. */
export function asLoadError(error: unknown): LoadError {
  if (error instanceof LoadError) return error;
  return new LoaderError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** The failure as it happened: the loader's own error when it was wrapped, for logs, traces and the fleet's record. */
export function originalError(error: LoadError): unknown {
  return error.name === "LoaderError" ? error.cause : error;
}

export function describeLoadError(error: LoadError): string {
  return describeError(originalError(error));
}
