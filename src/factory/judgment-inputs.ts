import type { ApiError } from "../platform/problem";
import { effectivePermissions, permissionGranted, refusalOf, type FactoryRole } from "./access";
import type { PromptRow } from "./judge-llm";
import type { DeployedScript } from "./judge-rules";
import { storedJson } from "./judgment-cache";

/**
 * The cache of what a judgment reads before it runs (docs/factory-judgments.md, "Judgment inputs
 * cache"): with a warm entry a miss of the judgment cache needs no read batch, only the write
 * batch, one Postgres round trip. Each entry carries the tenant's generation when it was read and
 * is used only while that generation is current; every factory write that can change it bumps it.
 */

/** What the judgment's read batch read, as the warm path needs it. */
export interface JudgmentInputs {
  generation: number;
  tenantId: string;
  userId: string;
  tenant: { name: string; status: string; limit: number; settings: Record<string, unknown> };
  /** The caller's row, so a warm entry refuses exactly as factory.authorize() would. */
  user: { username: string; status: string; role: FactoryRole; permissions: string[]; groups: unknown };
  workflowFound: boolean;
  ruleset: { id: string; name: string } | null;
  deployments: DeployedScript[];
  prompts: PromptRow[];
}

export interface InputsNeed {
  rulesetId?: string;
  workflowId?: string;
  prompts: boolean;
}

/** A safety net only: the generation retires an entry on the next request after a change. */
export const INPUTS_TTL_SEC = 10 * 60;

/** One entry per caller and what the method reads (ruleset, workflow, prompts or not). */
export const judgmentInputsKey = (tenantId: string, userId: string, need: InputsNeed) =>
  `factory:judgment-inputs:${tenantId}:${userId}:${need.rulesetId ?? "-"}:${need.workflowId ?? "-"}:${need.prompts ? "prompts" : "-"}`;

/** A generation as Redis answers it: absent is 0 (no write since Redis last knew the tenant). */
export const generationOf = (stored: unknown): number => (stored === null || stored === undefined ? 0 : Number(stored));

/** The entry when it is this caller's and of the current generation, else null (a cold read). */
export function readJudgmentInputs(stored: unknown, current: { tenantId: string; userId: string; generation: number }): JudgmentInputs | null {
  const value = storedJson(stored);
  if (!value || typeof value !== "object") return null;
  const entry = value as JudgmentInputs;
  if (entry.generation !== current.generation || entry.tenantId !== current.tenantId || entry.userId !== current.userId) return null;
  if (!entry.tenant || !entry.user || !Array.isArray(entry.deployments) || !Array.isArray(entry.prompts)) return null;
  // JSON carries dates as strings; prompt choice compares updatedAt as a Date.
  return { ...entry, prompts: entry.prompts.map((p) => ({ ...p, updatedAt: new Date(p.updatedAt) })) };
}

/**
 * The 403 factory.caller_refusal() would give this caller for `permission`, judged on the entry's
 * rows (the same order: tenant state, user state, permission), or null when the caller may act.
 * Mapped by refusalOf() like the database's FA403, so both paths answer alike.
 */
export function cachedRefusal(entry: JudgmentInputs, permission: string): ApiError | null {
  const { tenant, user } = entry;
  const refusal =
    tenant.status !== "active"
      ? [`tenant_${tenant.status}`, `tenant ${tenant.name} is ${tenant.status}`]
      : user.status !== "active"
        ? [`user_${user.status}`, `user ${user.username} is ${user.status}`]
        : !permissionGranted(effectivePermissions(user.role, user.permissions), permission)
          ? ["permission_missing", `the ${permission} permission is required (role ${user.role} does not grant it)`]
          : null;
  return refusal && refusalOf({ code: "FA403", detail: refusal[0], message: refusal[1], hint: permission });
}
