import "server-only";
import { checkBearer, type BearerCheck } from "./bearer";
import { getRuntime } from "./runtime";

/**
 * Who may read the cache's counters (the metrics, and the health route's detail): with METRICS_TOKEN set,
 * a caller sending it as a bearer token; without, whoever reaches the route.
 */
export function checkMetricsAccess(authorization: string | null): BearerCheck {
  const expected = getRuntime().config.metricsToken;
  return expected ? checkBearer(authorization, expected) : "ok";
}
