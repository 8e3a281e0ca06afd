import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import { audited, type Actor } from "./audit";
import { tenants, workflows, workflowSteps } from "./schema";
import { inheritsAttempts, normalisedSteps, type WorkflowDefinition } from "./workflow-dsl";
import type { StoredTrigger } from "./workflow-trigger-config";
import { workflowWebhookSecrets } from "./workflow-trigger-sql";

/**
 * Statements on factory.workflows and workflow_steps for the routes (workflows.routes.ts), each
 * meant for the one batch of its request. Writes of a tenant's workflows take turns on one
 * transaction lock, so the version numbers, the count of names against max_workflows and the one
 * active version per name are exact under concurrency.
 */

/** Serialises a tenant's workflow writes (creation, new versions, activation): the counts and numbers each reads are final. */
export const lockWorkflows = (db: Database, tenantId: string) =>
  db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`factory.workflows:${tenantId}`}, 0))`);

/** A workflow counts against max_workflows once per name, however many versions it has. */
const namesInUse = (tenant: SQL) => sql`(select count(distinct wf_names.name) from ${workflows} wf_names where wf_names.tenant_id = ${tenant})`;
// Aliases of their own, and the tenant passed as SQL: a bare column of the outer query would be captured by the inner alias.
const nameTaken = (tenant: SQL, name: string) => sql`exists (select 1 from ${workflows} wf_named where wf_named.tenant_id = ${tenant} and wf_named.name = ${name})`;

export interface WorkflowWrite {
  id: string;
  tenantId: string;
  definition: WorkflowDefinition;
  /** The definition as sent (stored and digested as is). */
  dsl: Record<string, unknown>;
  digest: string;
  description?: string | null;
  trigger?: StoredTrigger;
  timeoutSeconds?: number;
  maxRetry?: number;
  tags?: string[];
  metadata?: Record<string, unknown>;
}

const textArray = (items: string[]) => sql`array(select jsonb_array_elements_text(${JSON.stringify(items)}::jsonb))`;
const jsonValue = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`;

/**
 * Version 1 of a new name, when the tenant has no workflow of that name and holds fewer names
 * than max_workflows (after lockWorkflows). Columns in table order.
 */
export function insertFirstVersion(db: Database, w: WorkflowWrite) {
  return db
    .insert(workflows)
    .select(
      sql`select ${w.id}::uuid, t.id, ${w.definition.name}, ${w.description ?? null}, 1, ${jsonValue(w.dsl)}, ${w.digest}, false,
                 ${jsonValue(w.trigger ?? { type: "manual", enabled: true })}, ${w.timeoutSeconds ?? 300}::int, ${w.maxRetry ?? 3}::int,
                 ${textArray(w.tags ?? [])}, ${jsonValue(w.metadata ?? {})}, app.user_id(), now(), now(), null::timestamptz
          from ${tenants} t
          where t.id = ${w.tenantId}::uuid
            and not ${nameTaken(sql`t.id`, w.definition.name)}
            and ${namesInUse(sql`t.id`)} < t.max_workflows`,
    )
    .returning();
}

/**
 * The next version of the name of workflow `baseId`: what `w` gives, the rest as the base has it.
 * Nothing when the base is not the caller's, the definition names another workflow, or the
 * version would be webhook-triggered without a secret to give it (`sealed` null: no keys).
 */
export function insertNextVersion(db: Database, baseId: string, w: WorkflowWrite, sealedSecret: string | null) {
  const given = <T>(value: T | undefined, cast: SQL, column: SQL) => (value === undefined ? column : cast);
  const trigger = given(w.trigger, jsonValue(w.trigger), sql`b.trigger_config`);
  return db
    .insert(workflows)
    .select(
      sql`select ${w.id}::uuid, b.tenant_id, b.name, ${given(w.description, sql`${w.description ?? null}::text`, sql`b.description`)},
                 (select max(v.version) + 1 from ${workflows} v where v.tenant_id = b.tenant_id and v.name = b.name),
                 ${jsonValue(w.dsl)}, ${w.digest}, false, ${trigger},
                 ${given(w.timeoutSeconds, sql`${w.timeoutSeconds ?? null}::int`, sql`b.timeout_seconds`)},
                 ${given(w.maxRetry, sql`${w.maxRetry ?? null}::int`, sql`b.max_retry`)},
                 ${given(w.tags, textArray(w.tags ?? []), sql`b.tags`)}, ${given(w.metadata, jsonValue(w.metadata), sql`b.metadata`)},
                 app.user_id(), now(), now(), null::timestamptz
          from ${workflows} b
          where b.id = ${baseId}::uuid and b.tenant_id = ${w.tenantId}::uuid and b.name = ${w.definition.name}
            and (${sealedSecret}::text is not null or ${trigger} ->> 'type' is distinct from 'webhook')`,
    )
    .returning();
}

/**
 * The nodes of workflow `id` as workflow_steps, when that workflow was inserted earlier in the
 * batch. A node without its own max_attempts takes the workflow's max_retry (retryPolicyOf).
 */
export function insertSteps(db: Database, id: string, definition: WorkflowDefinition) {
  const steps = normalisedSteps(definition, 1).map((s, i) => ({
    step_order: s.stepOrder,
    node_id: s.nodeId,
    node_type: s.nodeType,
    config: s.config,
    timeout_seconds: s.timeoutSeconds,
    retry_policy: s.retryPolicy,
    inherit_attempts: inheritsAttempts(definition.nodes[i]!),
  }));
  return db.execute<Record<string, unknown>>(sql`
    insert into factory.workflow_steps (workflow_id, step_order, node_id, node_type, config, timeout_seconds, retry_policy)
    select w.id, s.step_order, s.node_id, s.node_type, s.config, s.timeout_seconds,
           case when s.inherit_attempts then s.retry_policy || jsonb_build_object('max_attempts', greatest(1, least(10, w.max_retry))) else s.retry_policy end
    from factory.workflows w,
         jsonb_to_recordset(${JSON.stringify(steps)}::jsonb)
           as s(step_order int, node_id text, node_type text, config jsonb, timeout_seconds int, retry_policy jsonb, inherit_attempts boolean)
    where w.id = ${id}::uuid
    returning *`);
}

/**
 * The webhook secret of workflow `id`, sealed, when that workflow is webhook-triggered: inserted,
 * or replaced when `rotate` (rotated_at set). Returns the workflow id when it stored one.
 */
export const storeWebhookSecret = (db: Database, id: string, sealed: string, rotate = false) =>
  db.execute<{ workflow_id: string }>(sql`
    insert into ${workflowWebhookSecrets} (workflow_id, tenant_id, secret_sealed)
    select w.id, w.tenant_id, ${sealed} from ${workflows} w where w.id = ${id}::uuid and w.trigger_config ->> 'type' = 'webhook'
    on conflict (workflow_id) do ${rotate ? sql`update set secret_sealed = excluded.secret_sealed, rotated_at = now()` : sql`nothing`}
    returning workflow_id`);

/**
 * The workflows row of the outer statement, spelled out: Drizzle renders a column of a
 * single-table select as a bare name, which a subquery's own `id` would capture.
 */
const WORKFLOW_ID = sql.raw(`"factory"."workflows"."id"`);

/** Instances or judgments that reference the outer statement's workflow: it cannot be deleted. */
export const workflowInstancesExist = sql`exists (select 1 from factory.workflow_instances wf_i where wf_i.workflow_id = ${WORKFLOW_ID})`;
export const workflowJudgmentsExist = sql`exists (select 1 from factory.judgment_executions wf_j where wf_j.workflow_id = ${WORKFLOW_ID})`;

/** Why a workflow could not be added: the tenant's limit and use, and whether the name is taken. */
export const creationState = (db: Database, tenantId: string, name: string) =>
  db
    .select({
      maxWorkflows: tenants.maxWorkflows,
      workflowsInUse: sql<number>`${namesInUse(sql`${tenants.id}`)}::int`,
      nameTaken: sql<boolean>`${nameTaken(sql`${tenants.id}`, name)}`,
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));

/** A workflow's name and trigger, to tell why a statement on it changed nothing. */
export const workflowState = (db: Database, tenantId: string, id: string) =>
  db
    .select({
      name: workflows.name,
      isActive: workflows.isActive,
      triggerType: sql<string | null>`${workflows.triggerConfig} ->> 'type'`,
      instances: sql<boolean>`${workflowInstancesExist}`,
      judgments: sql<boolean>`${workflowJudgmentsExist}`,
    })
    .from(workflows)
    .where(and(eq(workflows.id, id), eq(workflows.tenantId, tenantId)));

/**
 * Activation (one active version per name): retires the active version of the name and
 * activates `id` (activated_at now), each audited, after lockWorkflows. Nothing when `id` is
 * already active or not the caller's.
 */
export function activateWorkflow(db: Database, actor: Actor, tenantId: string, id: string) {
  const target = sql`(select t.name from ${workflows} t where t.id = ${id}::uuid and t.tenant_id = ${tenantId}::uuid and not t.is_active)`;
  const retireWhere = and(eq(workflows.tenantId, tenantId), sql`${workflows.name} = ${target}`, eq(workflows.isActive, true))!;
  const activateWhere = and(eq(workflows.id, id), eq(workflows.tenantId, tenantId), eq(workflows.isActive, false))!;
  return [
    audited(db, actor, { action: "deactivate", resourceType: "workflow", table: workflows, where: retireWhere, change: db.update(workflows).set({ isActive: false }).where(retireWhere).returning() }),
    audited(db, actor, {
      action: "activate",
      resourceType: "workflow",
      table: workflows,
      where: activateWhere,
      change: db.update(workflows).set({ isActive: true, activatedAt: sql`now()` }).where(activateWhere).returning(),
    }),
  ] as const;
}

/** A workflow's steps in order. */
export const stepsOf = (db: Database, id: string) => db.select().from(workflowSteps).where(eq(workflowSteps.workflowId, id)).orderBy(workflowSteps.stepOrder);
