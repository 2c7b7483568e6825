import type { Json } from "../json";
import type { CacheEntry } from "../stores/store";
import { withTimeout } from "../timeout";
import { traceUpstream } from "../tracing";
import { adviseInto, type LoadAdvice } from "../upstream-advice";
import { isNotFound, isNotModified, lifetimesOf, retryAfterOf, settingsInto, timesFrom, toJson } from "./answers";
import { asLoadError, LoadTimeoutError, originalError, ValueTooLargeError, type BusyError } from "./errors";
import type { Load, LoadsOptions } from "./loads";
import type { Loader, Policy } from "./policy";
import { NOT_FOUND_TEXT } from "./tiers";

/** A load's call to its upstream, and what it stores of the answer, here and in the shared store. */
export class UpstreamCalls {
  constructor(private readonly options: LoadsOptions) {}

  /**
   * Calls the loader and fills the local tier. The caller gets the value at once; the shared store is
   * written in the background, in the same step that frees the lease held with `token`, so waiters always
   * find the value (or the failure, which holds the whole fleet off the upstream for its backoff). No call
   * when the source's gate is closed (`held`, or no rate slot): the lease goes back unwritten.
   */
  async loadAndStore(
    key: string,
    loader: Loader,
    policy: Policy,
    load: Load,
    token: string,
    held: Promise<BusyError | undefined>,
  ): Promise<CacheEntry> {
    const { local, shared, layout, maxValueBytes, gate, tags, now, emit } = this.options;
    const { upstreamTimeoutMs } = policy;
    // A source with a rate takes its slot now, when it is sure to call: a claim that found the value takes none.
    const closed = (await held) ?? (policy.group.rate ? await gate.take(policy.group) : undefined);
    if (closed) {
      // No call: the lease goes back unwritten, and the key is not backed off (the source is, or is at its rate).
      emit({ type: "gate-closed", reason: closed.reason });
      if (shared) this.options.inBackground(shared.release(layout.item(key), token));
      throw closed;
    }
    const started = now();
    emit({ type: "load" });
    const fail = (error: unknown) => {
      const failure = asLoadError(error);
      // The upstream asked to wait: the whole source waits that long, on every instance, and so does this key.
      const waitMs = retryAfterOf(originalError(failure));
      const heldMs = waitMs === undefined ? undefined : gate.hold(policy.group, waitMs);
      // A purge came between: the key starts afresh, with no backoff.
      const record = this.options.backoff.record(key, failure, !load.purged, heldMs);
      emit({ type: "load-failed", key, ms: now() - started, error: failure, retryInMs: record.retryInMs });
      if (shared) this.options.inBackground(shared.fail(layout.item(key), token, record));
      return failure;
    };
    const controller = new AbortController();
    // A refresh of a value with validators asks the upstream whether it changed: a 304 renews it as it is.
    const previous = local.slot(key)?.entry;
    const conditional = policy.http.obey && !previous?.notFound ? previous?.validators : undefined;
    const advice: LoadAdvice = conditional ? { conditional } : {};
    const set = settingsInto(advice);
    let text: string;
    let notFound = false;
    try {
      const value = await withTimeout(
        traceUpstream(key, () => adviseInto(advice, () => loader(controller.signal, set))),
        upstreamTimeoutMs,
        () => {
          const error = new LoadTimeoutError(`load of "${key}" took over ${upstreamTimeoutMs} ms`);
          controller.abort(error);
          return error;
        },
      );
      text = toJson(key, value);
    } catch (error) {
      if (previous && conditional && isNotModified(error))
        return this.renew(key, previous, policy, advice, load, token);
      // Nothing there is an answer: kept a short while, so a crawler walking bad ids costs one call per id.
      if (!isNotFound(error)) throw fail(error);
      notFound = true;
      text = NOT_FOUND_TEXT;
    }
    const at = now();
    const bytes = Buffer.byteLength(text);
    const lifetimes = notFound
      ? { freshMs: policy.notFoundMs, graceMs: 0, failSafeMs: 0 }
      : lifetimesOf(policy, advice);
    // The upstream said `no-store`: its callers are served, nothing is kept, and the lease goes back unwritten.
    const keep = !(policy.http.obey && advice.noStore);
    // Parsed back from its JSON, so this caller sees exactly what every later reader of the cache will.
    const entry: CacheEntry = {
      value: notFound ? null : (JSON.parse(text) as Json),
      ...(notFound && { notFound: true as const }),
      version: token,
      bytes,
      ...timesFrom(at, lifetimes),
      ...(advice.validators && { validators: advice.validators }),
    };
    emit({ type: "loaded", key, ms: at - started, bytes, notFound });
    if (bytes > maxValueBytes) {
      // What is measured is what would be stored: JSON escaping can double an answer under the upstream's cap.
      fail(
        new ValueTooLargeError(`the value of "${key}" is ${bytes} bytes as JSON, over the cache's ${maxValueBytes}`),
      );
      return entry;
    }
    if (!load.purged) this.options.backoff.clear(key);
    if (!keep) {
      if (shared) this.options.inBackground(shared.release(layout.item(key), token));
      return entry;
    }
    // A load purged while under way serves its callers but keeps nothing: the next lookup loads again.
    if (!load.purged) local.set(key, entry, at);
    // Tags the loader added are in their indexes before the value is, so a purge by them always reaches it;
    // so are all its tags again when it lives longer than its policy said (the upstream's headers, `set`).
    const added = advice.tags ?? [];
    const indexed = lifetimes.freshMs > policy.freshMs ? [...policy.tags, ...added] : added;
    const lifetimeMs = lifetimes.freshMs + Math.max(lifetimes.graceMs, lifetimes.failSafeMs);
    if (indexed.length > 0) await tags.add(key, indexed, lifetimeMs);
    if (shared) this.options.inBackground(shared.fill(layout.item(key), token, text, lifetimes, entry.validators));
    return entry;
  }

  /**
   * The upstream answered 304 to a conditional refresh: `previous` stays, fresh again for as long as the 304's
   * headers (or the policy) say, here and, in the step that frees the lease, in the shared store, where only
   * its lifetimes change. Nothing was read, parsed or checked.
   */
  private renew(
    key: string,
    previous: CacheEntry,
    policy: Policy,
    advice: LoadAdvice,
    load: Load,
    token: string,
  ): CacheEntry {
    const { local, shared, layout, now, emit } = this.options;
    const at = now();
    const lifetimes = lifetimesOf(policy, advice);
    const entry: CacheEntry = { ...previous, ...timesFrom(at, lifetimes) };
    load.revalidated = true;
    emit({ type: "revalidated", key });
    if (!load.purged) {
      this.options.backoff.clear(key);
      local.set(key, entry, at);
    }
    if (shared) this.options.inBackground(shared.renew(layout.item(key), token, previous.version, lifetimes));
    return entry;
  }
}
