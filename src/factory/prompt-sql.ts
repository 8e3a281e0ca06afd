import { and, eq, ne, sql } from "drizzle-orm";
import type { Database } from "../platform/db";
import { audited, type Actor } from "./audit";
import { promptTemplateBodies, promptTemplates } from "./schema";

export interface NewPromptVersion {
  id: string;
  tenantId: string;
  name: string;
  purpose: string;
  templateType: (typeof promptTemplates.$inferInsert)["templateType"];
  modelConfig: Record<string, unknown>;
  variables: Record<string, unknown>;
  aBTestGroup: string | null;
  createdBy: string;
  bodies: { locale: string; systemPrompt: string; userPromptTemplate: string; fewShotExamples?: unknown }[];
}

/**
 * A new version of a template name (the next number of the tenant's versions of that name),
 * inactive, with its bodies: two statements of one batch. Two writers of the same name at once
 * both compute the same number; the unique (tenant_id, name, version) makes the second a 409.
 */
export function insertPromptVersion(db: Database, v: NewPromptVersion) {
  const nextVersion = sql<number>`(select coalesce(max(${promptTemplates.version}), 0) + 1 from ${promptTemplates} where ${promptTemplates.tenantId} = ${v.tenantId}::uuid and ${promptTemplates.name} = ${v.name})`;
  return [
    db
      .insert(promptTemplates)
      .values({ id: v.id, tenantId: v.tenantId, name: v.name, purpose: v.purpose, version: nextVersion, templateType: v.templateType, modelConfig: v.modelConfig, variables: v.variables, aBTestGroup: v.aBTestGroup, createdBy: v.createdBy })
      .returning(),
    db
      .insert(promptTemplateBodies)
      .values(v.bodies.map((b) => ({ templateId: v.id, locale: b.locale, systemPrompt: b.systemPrompt, userPromptTemplate: b.userPromptTemplate, fewShotExamples: b.fewShotExamples ?? null })))
      .returning(),
  ] as const;
}

/** A template version and its bodies (row-level security: the caller's tenant only). */
export const promptWithBodies = (db: Database, id: string) =>
  [
    db.select().from(promptTemplates).where(eq(promptTemplates.id, id)),
    db.select().from(promptTemplateBodies).where(eq(promptTemplateBodies.templateId, id)).orderBy(promptTemplateBodies.locale),
  ] as const;

/**
 * "Prompt deploy" (§10.1): activates version `id` unless it is already active, and retires the
 * version that was active in its slot (same name and A/B group), each with its audit row, in one
 * batch. An advisory lock per tenant and name first makes concurrent activations of one name take
 * turns, so a slot never ends with two active versions. The last statement reads the version's
 * state to tell 404 (not visible) from 409 (already active) when nothing was activated.
 */
export function activatePrompt(db: Database, actor: Actor, id: string) {
  const name = sql`(select ${promptTemplates.name} from ${promptTemplates} where ${promptTemplates.id} = ${id}::uuid)`;
  const group = sql`(select ${promptTemplates.aBTestGroup} from ${promptTemplates} where ${promptTemplates.id} = ${id}::uuid)`;
  const retireWhere = and(
    eq(promptTemplates.name, name),
    sql`${promptTemplates.aBTestGroup} is not distinct from ${group}`,
    eq(promptTemplates.isActive, true),
    ne(promptTemplates.id, id),
    sql`exists (select 1 from ${promptTemplates} p where p.id = ${id}::uuid and not p.is_active)`,
  )!;
  const activateWhere = and(eq(promptTemplates.id, id), eq(promptTemplates.isActive, false))!;
  return [
    db.execute(sql`select pg_advisory_xact_lock(hashtextextended('factory.prompt:' || factory.caller_tenant()::text || ':' || coalesce(${name}, ''), 0))`),
    audited(db, actor, {
      action: "retire",
      resourceType: "prompt_template",
      table: promptTemplates,
      change: db.update(promptTemplates).set({ isActive: false }).where(retireWhere).returning(),
      where: retireWhere,
    }),
    audited(db, actor, {
      action: "deploy",
      resourceType: "prompt_template",
      table: promptTemplates,
      change: db.update(promptTemplates).set({ isActive: true }).where(activateWhere).returning(),
      where: activateWhere,
    }),
    db.select({ isActive: promptTemplates.isActive }).from(promptTemplates).where(eq(promptTemplates.id, id)),
  ] as const;
}
