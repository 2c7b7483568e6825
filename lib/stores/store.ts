/** One cached result and the moments it stops being fresh and stops being usable (epoch ms). */
export type CacheEntry = {
  value: string;
  createdAt: number;
  freshUntil: number;
  staleUntil: number;
};

export type Claim = { entry?: CacheEntry; leased: boolean };

/** A store shared by every instance of the app; its keys expire when their entries stop being usable. */
export type SharedStore = {
  readonly kind: "upstash";
  /** Null when the key holds no entry. */
  get(key: string): Promise<CacheEntry | null>;
  set(key: string, entry: CacheEntry): Promise<void>;
  /**
   * In one atomic step: the entry at `key` if it is fresh at `now`; otherwise the entry if it is still
   * within grace, together with an attempt at the lease at `leaseKey` (set-if-absent with an expiry),
   * `leased` telling whether this caller now holds it.
   */
  claim(key: string, leaseKey: string, token: string, ttlMs: number, now: number): Promise<Claim>;
  /** Deletes the lease only while it still holds `token`, so a late holder never frees someone else's. */
  releaseLease(key: string, token: string): Promise<void>;
  /** Deletes one key; resolves with how many were deleted. */
  delete(key: string): Promise<number>;
  /** Deletes every key matching a glob `pattern`, in batches; resolves with how many were deleted. */
  deleteMatching(pattern: string): Promise<number>;
  ping(): Promise<void>;
};

export function isCacheEntry(value: unknown): value is CacheEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.value === "string" &&
    typeof entry.createdAt === "number" &&
    typeof entry.freshUntil === "number" &&
    typeof entry.staleUntil === "number"
  );
}
