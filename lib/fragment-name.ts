export const FRAGMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The rule, as every refusal of a bad name states it. */
export const FRAGMENT_NAME_RULE = "1-64 characters of A-Z a-z 0-9 _ -";

/** A fragment name is 1–64 characters of `A-Z a-z 0-9 _ -`: safe in a URL path, a DOM attribute and a cache key. */
export function isFragmentName(value: unknown): value is string {
  return typeof value === "string" && FRAGMENT_NAME.test(value);
}

export const TAG = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** The rule, as every refusal of a bad tag states it. */
export const TAG_RULE = "1-128 characters of A-Z a-z 0-9 _ - . : /";

/** A tag names a group of entries for a purge (`news`, `product:42`): safe in a cache key and a header. */
export function isTag(value: unknown): value is string {
  return typeof value === "string" && TAG.test(value);
}
