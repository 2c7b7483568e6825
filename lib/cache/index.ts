export { Cache, type Answer, type CacheOptions, type GetOptions } from "./cache";
export type { PurgeOptions, PurgeTarget } from "./purges";
export {
  BusyError,
  isBusyError,
  isLoadError,
  LoadError,
  LoadTimeoutError,
  NotJsonError,
  originalError,
  SharedLoadError,
  ValueTooLargeError,
} from "./errors";
export type { BusyReason } from "./errors";
export type { BusState, BusStats } from "./bus";
export type { CacheEvent, CacheListener, CacheStats } from "./events";
export type { Loader, LoadSettings, Policy } from "./policy";
