import { nodeConfig } from "./config";

/**
 * WAIT: `{ seconds }` (a durable step.sleep) or `{ until: ISO timestamp }` (step.sleepUntil), as
 * the DSL defines it. The engine never sleeps past the instance's deadline; a sleep survives the
 * Worker being evicted.
 */
export function waitTarget(raw: unknown): { ms: number } | { until: number } {
  const config = nodeConfig("WAIT", raw);
  return "seconds" in config ? { ms: config.seconds * 1000 } : { until: Date.parse(config.until) };
}
