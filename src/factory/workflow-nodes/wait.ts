import { NodeError } from "../workflow-errors";

/**
 * WAIT: `{ seconds: int }` (a durable step.sleep) or `{ until: ISO timestamp }` (step.sleepUntil).
 * The engine never sleeps past the instance's deadline; a sleep survives the Worker being evicted.
 */
export function waitTarget(config: Record<string, unknown>): { ms: number } | { until: number } {
  if (typeof config.seconds === "number" && Number.isInteger(config.seconds) && config.seconds >= 0) return { ms: config.seconds * 1000 };
  if (typeof config.until === "string" && !Number.isNaN(Date.parse(config.until))) return { until: Date.parse(config.until) };
  throw new NodeError("VALIDATION_ERROR", "config needs seconds (a whole number) or until (an ISO timestamp)");
}
