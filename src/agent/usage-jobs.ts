import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { SERVICE_PRINCIPAL } from "./jobs";
import { resetMonthlyTokens, rollUpUsage } from "./usage-sql";

/**
 * Every minute: on a new UTC month, current_month_tokens goes back to 0 (one conditional
 * statement; idempotent), and the usage rollups of the previous and current hour are upserted.
 * One Postgres round trip per run for both.
 */
export async function usageUpkeep(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-agent-usage");
  const [reset, rolledUp] = await runAs(db, SERVICE_PRINCIPAL, [resetMonthlyTokens(db), rollUpUsage(db)] as const);
  return { monthlyTokensReset: reset.rows.length, usageRowsUpserted: rolledUp.rows.length };
}
