import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { servicePrincipal } from "../platform/auth";
import type { AppEnv } from "../platform/context";
import { runAs } from "../platform/db";
import { JsonObject } from "../platform/input";
import { log } from "../platform/log";
import { ApiError, notFound } from "../platform/problem";
import { defineRoute, json, jsonBody } from "../platform/route";
import { requestOrigin } from "../platform/request-origin";
import { createRouter } from "../platform/router";
import { uuidParams } from "../platform/schemas";
import { unseal } from "../platform/sealed-secrets";
import { checkStandardWebhookHeaders, verifyStandardWebhook } from "../platform/standard-webhooks";
import { malformedWebhookId, WEBHOOK_ID_PATTERN, webhookRefusal } from "../platform/webhook-signature";
import { changedRows } from "./audit";
import { workflowInstances } from "./schema";
import { startStatements } from "./workflow-instance-sql";
import { createRun, startRequest } from "./workflow-start";
import { recordWebhookDelivery, webhookSecretOwner, webhookTarget } from "./workflow-trigger-sql";

/**
 * The webhook trigger (docs/factory-workflows.md, "Triggers"): another system starts an instance
 * of a webhook-triggered workflow with a Standard Webhooks call signed by the workflow's whsec_
 * secret; no bearer token (SystemParts.signedRoutes). Two round trips: the workflow and its sealed
 * secret (to verify), then the instance and the delivery's webhook-id in one batch.
 */

/** The route's path under /api/v1/factory. */
export const HOOK_PATH = "/hooks/workflows/{id}";
/** The identity the route reads and writes with (role `service`, which tokens can never carry): the caller is no user. */
const HOOK_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f317");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const Accepted = z
  .object({
    instanceId: z.uuid(),
    workflowId: z.uuid(),
    status: z.string().openapi({ description: "PENDING: it runs on Cloudflare Workflows" }),
  })
  .openapi("FactoryWorkflowHookAccepted");

const hook = defineRoute(
  {
    method: "post",
    path: HOOK_PATH,
    tags: ["factory workflows"],
    summary: "Start an instance of a webhook-triggered workflow (Standard Webhooks signature under its whsec_ secret, no bearer token)",
    description:
      "Authenticated by signature, not JWT: headers webhook-id, webhook-timestamp (Unix seconds, at most 5 minutes off) and webhook-signature (`v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the workflow's whsec_ secret, shown when the version was created or its secret rotated). The JSON body is the instance's input, checked against variables.input (422 with a JSON pointer). A webhook-id starts one instance: sent again, 409 webhook_replayed. 401 for a missing, stale or wrong signature; 404 for an id that is no webhook-triggered workflow; 409 when the version is not the active one of its name or its trigger is disabled.",
    security: [],
    "x-authentication": "standard-webhooks",
    request: { params: uuidParams("id"), body: jsonBody(JsonObject.openapi({ description: "The instance's input (variables.input)" })) },
    responses: { 202: json(Accepted, "Started (PENDING)") },
  },
  404,
  409,
);

interface Target {
  workflowId: string;
  tenantId: string;
  webhookId: string;
  isActive: boolean;
  enabled: boolean;
  tenantActive: boolean;
  createdBy: string | null;
}

/**
 * Verifies the call before its body is validated: the headers and timestamp first (an unsigned
 * or stale call is refused before anything is read), then the workflow's secret (one round trip)
 * and the signature over the raw body. An id that is no webhook-triggered workflow is a 404 only
 * for a call that came signed and in time.
 */
const signedByWorkflowSecret: MiddlewareHandler<AppEnv> = async (c, next) => {
  const headers = c.req.raw.headers;
  const now = new Date();
  const checked = checkStandardWebhookHeaders(headers, now);
  if (!checked.ok) throw webhookRefusal(checked);
  if (!WEBHOOK_ID_PATTERN.test(checked.id)) throw malformedWebhookId();
  const id = c.req.param("id") ?? "";
  const missing = () => notFound(`webhook-triggered workflow ${id}`);
  if (!UUID.test(id)) throw missing();
  const { db, config } = c.var;
  const [found] = await runAs(db, HOOK_PRINCIPAL, [webhookTarget(db, id)] as const);
  const target = found.rows[0];
  if (!target) throw missing();
  const keys = config.FACTORY_CONNECTOR_KEYS;
  if (!keys) throw new ApiError(503, "webhook_keys_missing", "the service is misconfigured: FACTORY_CONNECTOR_KEYS is not set, so webhook secrets cannot be opened");
  let secret: string;
  try {
    secret = await unseal(keys, target.secret_sealed, webhookSecretOwner(target.tenant_id, target.id));
  } catch (err) {
    log("error", "workflow webhook secret cannot be opened", { workflowId: id, error: String(err) });
    throw new ApiError(503, "webhook_secret_unavailable", `the webhook secret of workflow ${id} cannot be opened with the configured keys; rotate it`);
  }
  const verdict = await verifyStandardWebhook(secret, headers, await c.req.text(), now);
  if (!verdict.ok) throw webhookRefusal(verdict);
  const verified: Target = {
    workflowId: target.id,
    tenantId: target.tenant_id,
    webhookId: verdict.id,
    isActive: target.is_active,
    enabled: target.enabled,
    tenantActive: target.tenant_active,
    createdBy: target.created_by,
  };
  c.set("webhookTarget" as never, verified as never);
  await next();
};

/** variables.input's refusal for a body that is the input itself: the pointer is into the body. */
function inputRefusal(problem: string[]): ApiError {
  const [at, message] = problem as [string, string];
  const field = at === "input" ? [] : at.replace(/^input\./, "").split(".");
  const pointer = field.map((f) => `/${f.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
  const path = ["json", ...field].join(".");
  return new ApiError(422, "validation_failed", `${pointer || "(body)"}: ${message}`, { errors: [{ path, pointer, message }] });
}

type StartState = { found: boolean; problem: string[] | null; existing: string | null }[];

const router = createRouter();
router.use(HOOK_PATH.replace("{id}", ":id"), signedByWorkflowSecret);

export const workflowHookRoutes = router.openapi(hook, async (c) => {
  const input = c.req.valid("json");
  const target = c.get("webhookTarget" as never) as Target;
  const { workflowId, webhookId } = target;
  if (!target.tenantActive) throw new ApiError(409, "tenant_inactive", `the tenant of workflow ${workflowId} is not active`);
  if (!target.isActive) throw new ApiError(409, "workflow_inactive", `workflow ${workflowId} is not the active version of its name; send to the active version's hook`);
  if (!target.enabled) throw new ApiError(409, "trigger_disabled", `the webhook trigger of workflow ${workflowId} is disabled (trigger_config.enabled false)`);
  const r = await startRequest({
    tenantId: target.tenantId,
    workflowId,
    input,
    triggerType: "webhook",
    triggeredBy: null,
    traceId: requestOrigin(c).traceId,
    metadata: { trigger: { webhook_id: webhookId } },
    idempotencyKey: `webhook:${webhookId}`,
  });
  const { db } = c.var;
  const [inserted, state] = await runAs(db, HOOK_PRINCIPAL, [...startStatements(db, r), recordWebhookDelivery(db, workflowId, webhookId, r.instanceId)] as const);
  const row = changedRows(workflowInstances, inserted)[0];
  if (!row) {
    const s = (state.rows as StartState)[0];
    if (s?.existing === workflowId) throw new ApiError(409, "webhook_replayed", `webhook ${webhookId} was already received; it started instance ${r.instanceId}`, { instanceId: r.instanceId });
    if (s?.problem) throw inputRefusal(s.problem);
    throw notFound(`webhook-triggered workflow ${workflowId}`);
  }
  await createRun(c.env, { instanceId: r.instanceId, tenantId: target.tenantId, workflowId, actorUserId: target.createdBy, traceId: r.traceId });
  return c.json({ instanceId: r.instanceId, workflowId, status: row.status }, 202);
});
