import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { recomputeFeatures } from "./features-sql";

/**
 * Days of learning history the daily job recomputes, ending with the day it runs: an event that
 * reaches the hub up to this many days after it occurred is counted by the next run. Older late
 * events are not (docs/seedtest.md).
 */
export const FEATURES_WINDOW_DAYS = 7;

/**
 * The jobs' service identity: role `service`, which hub's and seedtest's row-level security admit
 * (hub: read every student and event; seedtest: write features) and which the API refuses in
 * tokens, so only code running here carries it.
 */
export const SERVICE_PRINCIPAL = servicePrincipal("5eed7e57-0000-4000-8000-00000000f001");

const DAY_MS = 86_400_000;

/**
 * Fills seedtest.features_topic_daily from hub.learning_history for the trailing window of UTC
 * days, in one statement (recomputeFeatures). A re-run therefore leaves the same rows; two
 * overlapping runs compute the same values and meet on the primary key.
 */
export async function fillTopicFeatures(env: Bindings, scheduledTime: number): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-seedtest-features");
  const today = Math.floor(scheduledTime / DAY_MS) * DAY_MS;
  const from = new Date(today - FEATURES_WINDOW_DAYS * DAY_MS).toISOString().slice(0, 10);
  const until = new Date(today + DAY_MS).toISOString().slice(0, 10);
  const [result] = await runAs(db, SERVICE_PRINCIPAL, [recomputeFeatures(db, from, until)] as const);
  return { from, until, ...result.rows[0] };
}
