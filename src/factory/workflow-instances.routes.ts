import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq } from "drizzle-orm";
import type { AppEnv } from "../platform/context";
import { JsonObject } from "../platform/input";
import { log } from "../platform/log";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory, type FactoryAccess } from "./access";
import { changedRows, userActor } from "./audit";
import { INSTANCE_STATUSES, workflowExecutionLogs, workflowInstances } from "./schema";
import { approvalEventType } from "./workflow-nodes/approval";
import { approvalStatements, CONTROLS, controlStatements, currentNodeId, instanceLogs, instanceRow, workflowVisible, type ControlName } from "./workflow-instance-sql";
import { startAsCaller, workflowBinding } from "./workflow-start";

/** Workflow execution routes (docs/factory-workflows.md, "Execution"): execute, instances, controls, approvals. */

const AnyJson = z.record(z.string(), z.unknown());
export const WorkflowInstance = rowSchema(workflowInstances, { inputContext: AnyJson, runtimeContext: AnyJson, checkpointData: AnyJson.nullable(), metadata: AnyJson })
  .extend({ currentNodeId: z.string().nullable().openapi({ description: "The node current_step_id names" }) })
  .openapi("FactoryWorkflowInstance");
export const WorkflowExecutionLog = rowSchema(workflowExecutionLogs, { inputData: z.unknown().nullable(), outputData: z.unknown().nullable(), metadata: AnyJson }).openapi(
  "FactoryWorkflowExecutionLog",
);
const InstanceWithLogs = WorkflowInstance.extend({ logs: z.array(WorkflowExecutionLog) }).openapi("FactoryWorkflowInstanceWithLogs");
const InstancePage = pageOf(WorkflowInstance, "FactoryWorkflowInstancePage");

const ExecuteInput = z
  .object({
    input: JsonObject.optional().openapi({ description: "The instance's input, checked against the definition's variables.input (defaults filled in)" }),
    triggerType: z.enum(["manual", "api"]).default("manual").openapi({ description: "manual: a person started it; api: another system did" }),
    metadata: JsonObject.optional(),
  })
  .strict()
  .openapi("FactoryWorkflowExecuteInput");
const ApprovalInput = z
  .object({ decision: z.enum(["approve", "reject"]), comment: z.string().trim().min(1).max(2000).optional() })
  .strict()
  .openapi("FactoryWorkflowApprovalInput");

const tags = ["factory"];
const IdParam = uuidParams("id");
const InstanceParam = uuidParams("instanceId");

const execute = factoryRoute(
  {
    method: "post",
    path: "/workflows/{id}/execute",
    tags,
    summary: "Start an instance of this workflow version (active or not) with an input; it runs on Cloudflare Workflows",
    permission: "workflow:execute",
    request: { params: IdParam, body: jsonBody(ExecuteInput, { required: false }) },
    responses: { 202: json(WorkflowInstance, "Started (PENDING): follow it with GET /workflows/instances/{instanceId}") },
  },
  404,
);
const listInstances = factoryRoute(
  {
    method: "get",
    path: "/workflows/{id}/instances",
    tags,
    summary: "The workflow's instances, newest first, optionally in one status",
    permission: "workflow:read",
    request: { params: IdParam, query: z.object({ status: z.enum(INSTANCE_STATUSES).optional(), ...PageQuery }) },
    responses: { 200: json(InstancePage, "A page of instances") },
  },
  404,
);
const getInstance = factoryRoute(
  {
    method: "get",
    path: "/workflows/instances/{instanceId}",
    tags,
    summary: "An instance with its execution logs",
    permission: "workflow:read",
    request: { params: InstanceParam },
    responses: { 200: json(InstanceWithLogs, "The instance and its logs, in the order they started") },
  },
  404,
);

const CONTROL_SUMMARIES: Record<ControlName, string> = {
  pause: "Pause a PENDING, RUNNING or WAITING instance (it stops after its current step)",
  resume: "Resume a PAUSED instance where it stopped",
  cancel: "Cancel an instance that has not ended; its Workflows instance is terminated (no compensation runs)",
};
const controlRoute = (name: ControlName) =>
  factoryRoute(
    {
      method: "post",
      path: `/workflows/instances/{instanceId}/${name}`,
      tags,
      summary: CONTROL_SUMMARIES[name],
      permission: "workflow:execute",
      request: { params: InstanceParam },
      responses: { 200: json(WorkflowInstance, "Moved") },
    },
    404,
    409,
  );
const decide = factoryRoute(
  {
    method: "post",
    path: "/workflows/instances/{instanceId}/approval",
    tags,
    summary: "Approve or reject the APPROVAL node an instance is WAITING at (an approver it names, or anyone holding approval:decide)",
    permission: "approval:decide",
    request: { params: InstanceParam, body: jsonBody(ApprovalInput) },
    responses: { 200: json(WorkflowInstance, "Decision recorded; the instance goes on (or fails on a rejection)") },
  },
  404,
  409,
);

const byStart = keyset([workflowInstances.startedAt, workflowInstances.id], "desc");
type InstanceRowT = Awaited<ReturnType<typeof instanceRow>>[number];

/** What the Workflows instance is told after a control move; it failing leaves the row as moved and answers 503. */
async function tellEngine(c: Context<AppEnv>, instanceId: string, name: ControlName) {
  try {
    const instance = await workflowBinding(c.env).get(instanceId);
    if (name === "pause") await instance.pause();
    else if (name === "resume") await instance.resume();
    else await instance.terminate();
  } catch (err) {
    const message = String((err as Error)?.message ?? err);
    // Already in the wanted state (a resume of one never paused, a terminate of one that just ended): nothing to do.
    if (/already|not paused|running|finite state|cannot_terminate/i.test(message)) return;
    log("error", "workflow engine refused a control move", { instanceId, move: name, error: message });
    if (name === "cancel") return; // the engine stops at its next step: its writes need a live instance
    throw new ApiError(503, "workflows_unavailable", `instance ${instanceId} is marked ${name === "pause" ? "PAUSED" : "resumed"} but the workflow engine did not confirm it; try again`);
  }
}

function controlHandler(name: ControlName, route: FactoryAccess) {
  return async (c: Context<AppEnv>) => {
    const { db } = c.var;
    const { instanceId } = c.req.param() as { instanceId: string };
    const [moved, current] = await runFactory(c, route, controlStatements(db, userActor(c), instanceId, name));
    const row = (current as InstanceRowT[])[0];
    if (!row) throw notFound(`workflow instance ${instanceId}`);
    if (!changedRows(workflowInstances, moved).length) {
      const allowed = CONTROLS[name].from;
      throw new ApiError(409, "invalid_state", `instance ${instanceId} is ${row.status}; ${name} needs ${allowed.join(", ")}`, { currentStatus: row.status, allowed });
    }
    await tellEngine(c, instanceId, name);
    return c.json(row, 200);
  };
}

const pause = controlRoute("pause");
const resume = controlRoute("resume");
const cancel = controlRoute("cancel");

export const workflowInstanceRoutes = createRouter()
  .openapi(execute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const row = await startAsCaller(c, execute, { workflowId: id, input: body.input ?? {}, triggerType: body.triggerType, metadata: body.metadata });
    return c.json({ ...row, currentNodeId: null }, 202);
  })
  .openapi(listInstances, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const [visible, rows] = await runFactory(c, listInstances, [
      workflowVisible(db, id),
      db
        .select({ ...columnsOf(workflowInstances), currentNodeId, ...byStart.columns })
        .from(workflowInstances)
        .where(and(eq(workflowInstances.workflowId, id), q.status ? eq(workflowInstances.status, q.status) : undefined, byStart.after(q.cursor)))
        .orderBy(...byStart.orderBy)
        .limit(q.limit + 1),
    ] as const);
    if (!visible.length) throw notFound(`workflow ${id}`);
    return c.json(byStart.page(rows, q.limit), 200);
  })
  .openapi(getInstance, async (c) => {
    const { db } = c.var;
    const { instanceId } = c.req.valid("param");
    const [rows, logs] = await runFactory(c, getInstance, [instanceRow(db, instanceId), instanceLogs(db, instanceId)] as const);
    if (!rows[0]) throw notFound(`workflow instance ${instanceId}`);
    return c.json({ ...rows[0], logs }, 200);
  })
  .openapi(pause, controlHandler("pause", pause))
  .openapi(resume, controlHandler("resume", resume))
  .openapi(cancel, controlHandler("cancel", cancel))
  .openapi(decide, async (c) => {
    const { db } = c.var;
    const { instanceId } = c.req.valid("param");
    const body = c.req.valid("json");
    const decision = body.decision === "approve" ? "approved" : "rejected";
    const [recorded, current, access] = await runFactory(c, decide, approvalStatements(db, userActor(c), instanceId, decision, body.comment ?? null));
    const row = current[0];
    if (!row) throw notFound(`workflow instance ${instanceId}`);
    const changed = changedRows(workflowInstances, recorded)[0];
    if (!changed) {
      const approval = (row.metadata as { approval?: { decision?: string | null } }).approval;
      if (row.status !== "WAITING" || !approval) throw new ApiError(409, "invalid_state", `instance ${instanceId} is ${row.status}, not WAITING for an approval`, { currentStatus: row.status });
      if (approval.decision) throw new ApiError(409, "already_decided", `the approval of instance ${instanceId} was decided already (${approval.decision})`, { decision: approval.decision });
      if (access.rows[0]?.may_decide === false) throw new ApiError(403, "not_an_approver", `the approval of instance ${instanceId} names its approvers, and the caller is not one of them`);
      throw new ApiError(409, "invalid_state", `instance ${instanceId} moved while deciding; read it again`, { currentStatus: row.status });
    }
    const approval = (changed.metadata as { approval: { node_id: string; decision: string; by: string; at: string; comment: string | null } }).approval;
    try {
      const instance = await workflowBinding(c.env).get(instanceId);
      await instance.sendEvent({ type: approvalEventType(approval.node_id), payload: { decision: approval.decision, by: approval.by, at: approval.at, comment: approval.comment } });
    } catch (err) {
      // Recorded is decided: the engine reads the decision of record when its wait ends (docs, "Approval").
      log("warn", "approval event not delivered; the instance reads the decision when its wait ends", { instanceId, error: String(err) });
    }
    return c.json(row, 200);
  });
