/**
 * One value per process, made on first use. Next bundles each route separately, so a module-level value
 * would exist once per bundle (the page and the `/fragment` route would each get a cache of their own);
 * a slot on globalThis is shared by every bundle.
 */
export function processGlobal<T>(name: string, create: () => T): T {
  const slots = globalThis as typeof globalThis & Record<symbol, T | undefined>;
  const key = Symbol.for(name);
  slots[key] ??= create();
  return slots[key];
}

/** The value made by `processGlobal(name, …)`, if it was made: looks, never makes. */
export function existingProcessGlobal<T>(name: string): T | undefined {
  return (globalThis as typeof globalThis & Record<symbol, T | undefined>)[Symbol.for(name)];
}
