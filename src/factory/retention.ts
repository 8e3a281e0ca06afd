import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { deleteOldJudgments, deleteOldLlmCalls, deleteOldMcpCallLogs, deleteOldWorkflowLogs, type RetentionResult } from "./retention-sql";

/** The retention job's service identity (role `service`, which tokens can never carry). */
const RETENTION_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000d47a");

/** Rows per statement: short row locks and a bounded statement, whatever a tenant has piled up. */
export const RETENTION_BATCH = 5000;
/** Rounds per run (each one round trip deleting up to RETENTION_BATCH per table): at most 100,000 rows per table a day; the rest wait for the next day. */
export const RETENTION_MAX_ROUNDS = 20;

const TABLES = ["llm_calls", "mcp_call_logs", "workflow_execution_logs", "judgment_executions"] as const;

/**
 * Daily (docs/factory-monitoring.md, "Retention"): deletes every tenant's raw logs, judgment logs
 * and LLM calls older than its settings.data_retention, in rounds of one round trip (four
 * statements of at most RETENTION_BATCH rows each, one transaction) until a round deletes less
 * than a full batch of each or RETENTION_MAX_ROUNDS are done. Idempotent: a second run (or an
 * overlapping one) finds only what is still too old.
 */
export async function applyRetention(env: Bindings, batch = RETENTION_BATCH, maxRounds = RETENTION_MAX_ROUNDS): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-factory-retention");
  const deleted: Record<(typeof TABLES)[number], number> = { llm_calls: 0, mcp_call_logs: 0, workflow_execution_logs: 0, judgment_executions: 0 };
  const tenants = new Set<string>();
  let rounds = 0;
  while (rounds < maxRounds) {
    rounds++;
    // llm_calls first: the judgments' statement then has fewer references to clear.
    const results = await runAs(db, RETENTION_PRINCIPAL, [
      deleteOldLlmCalls(db, batch),
      deleteOldMcpCallLogs(db, batch),
      deleteOldWorkflowLogs(db, batch),
      deleteOldJudgments(db, batch),
    ] as const);
    let full = false;
    results.forEach((result, i) => {
      const rows = result.rows as RetentionResult[];
      const n = rows.reduce((sum, r) => sum + Number(r.deleted), 0);
      deleted[TABLES[i]!] += n;
      for (const r of rows) tenants.add(r.tenant_id);
      if (n >= batch) full = true;
    });
    if (!full) break;
  }
  return { rounds, tenants: tenants.size, ...deleted };
}
