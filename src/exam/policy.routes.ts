import { z } from "@hono/zod-openapi";
import { and, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { runAs } from "../platform/db";
import { keyset } from "../platform/paging";
import { createRouter } from "../platform/router";
import { defineRoute, json, jsonBody } from "../platform/route";
import { PageQuery, pageOf, Timestamp, uuidParams } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { requireRole } from "../platform/auth";
import { clientIp, MAX_USER_AGENT } from "../platform/request-origin";
import { refused } from "./access";
import { MAX_URL_LENGTH } from "./host-allowlist";
import { decideVerdict, POLICY_ACTIONS } from "./policy-verdict";
import { auditPolicyEvents, SESSION_STATUSES, sessions, VERDICTS } from "./schema";
import { OPEN_STATES } from "./session-machine";

const PolicyEventInput = z
  .object({
    action: z.enum(POLICY_ACTIONS),
    url: z.string().min(1).max(MAX_URL_LENGTH).optional().openapi({ description: "Required for REFERENCE_OPEN: the URL the learner opened" }),
  })
  .strict()
  .refine((e) => e.action !== "REFERENCE_OPEN" || e.url !== undefined, { path: ["url"], message: "required for REFERENCE_OPEN" })
  .openapi("PolicyEventInput");

export const PolicyEvent = rowSchema(auditPolicyEvents).openapi("PolicyEvent");
export const PolicyEventRecorded = PolicyEvent.extend({ sessionStatus: z.enum(SESSION_STATUSES) }).openapi("PolicyEventRecorded");
export const PolicyEventPage = pageOf(PolicyEvent, "PolicyEventPage");

const report = defineRoute(
  {
    method: "post",
    path: "/sessions/{id}/policy-events",
    tags: ["exam"],
    summary: "Report a learner action during a lab (session RUNNING or PAUSED); the server decides the verdict",
    description:
      "REFERENCE_OPEN: a URL whose host is in REFERENCE_ALLOWLIST_DOMAINS (or a subdomain) is ALLOW; anything else WARN in PRACTICE modes, BLOCK in MOCK. A BLOCK in a MOCK session force-closes it in the same transaction.",
    request: { params: uuidParams("id"), body: jsonBody(PolicyEventInput) },
    responses: { 201: json(PolicyEventRecorded, "Recorded") },
  },
  404,
  409,
);

const audit = defineRoute(
  {
    method: "get",
    path: "/audit/policy-events",
    tags: ["exam"],
    summary: "The policy audit trail (proctor, admin), by user then newest first, keyset-paginated",
    request: {
      query: z.object({
        userId: z.uuid().optional(),
        sessionId: z.uuid().optional(),
        verdict: z.enum(VERDICTS).optional(),
        from: Timestamp.optional().openapi({ description: "created_at ≥ from" }),
        to: Timestamp.optional().openapi({ description: "created_at < to" }),
        ...PageQuery,
        // An audit trail is read in longer pages than the other lists.
        limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "Page size (1–200, default 50)" }),
      }),
    },
    responses: { 200: json(PolicyEventPage, "A page of events") },
  },
  403,
);

export const policyRoutes = createRouter()
  .openapi(report, async (c) => {
    const { db, config } = c.var;
    const principal = c.var.principal!;
    const { id: sessionId } = c.req.valid("param");
    const { action, url } = c.req.valid("json");
    const v = decideVerdict(action, url, config.REFERENCE_ALLOWLIST_DOMAINS);
    const eventId = crypto.randomUUID();
    const ip = clientIp(c.req.header("CF-Connecting-IP"));
    const userAgent = c.req.header("User-Agent")?.slice(0, MAX_USER_AGENT) ?? null;
    const mine = and(eq(sessions.id, sessionId), eq(sessions.userId, principal.userId));

    const [recorded, , current] = await runAs(db, principal, [
      db
        .insert(auditPolicyEvents)
        .select(
          sql`select ${eventId}::uuid, s.user_id, s.id, s.policy_id, ${action}::text,
                case s.mode when 'MOCK' then ${v.MOCK}::text when 'PRACTICE_PLUS' then ${v.PRACTICE_PLUS}::text else ${v.PRACTICE}::text end,
                ${v.reasonCode}::text, ${ip}::inet, ${userAgent}::text, now()
              from exam.sessions s
              where s.id = ${sessionId}::uuid and s.user_id = app.user_id() and s.status in ('RUNNING', 'PAUSED')`,
        )
        .returning(),
      // A BLOCK in a mock exam ends it, in the same transaction as the event that caused it.
      db
        .update(sessions)
        .set({ status: "FORCE_CLOSED", endedAt: sql`now()`, updatedAt: sql`now()` })
        .where(
          and(
            mine,
            eq(sessions.mode, "MOCK"),
            inArray(sessions.status, [...OPEN_STATES]),
            sql`exists (select 1 from exam.audit_policy_events e where e.id = ${eventId}::uuid and e.verdict = 'BLOCK')`,
          ),
        ),
      db.select({ status: sessions.status }).from(sessions).where(mine),
    ] as const);
    if (!recorded[0] || !current[0]) throw refused(current[0], "report a policy event");
    return c.json({ ...recorded[0], sessionStatus: current[0].status }, 201);
  })
  .openapi(audit, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireRole(principal, ["proctor", "admin"], "read the policy audit trail");
    const q = c.req.valid("query");
    const e = auditPolicyEvents;
    // idx_audit_policy_events_user_created (user_id, created_at desc) serves it; id breaks ties.
    const k = keyset([[e.userId, "asc"], e.createdAt, e.id], "desc");
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...columnsOf(e), ...k.columns })
        .from(e)
        .where(
          and(
            q.userId ? eq(e.userId, q.userId) : undefined,
            q.sessionId ? eq(e.sessionId, q.sessionId) : undefined,
            q.verdict ? eq(e.verdict, q.verdict) : undefined,
            q.from ? gte(e.createdAt, new Date(q.from)) : undefined,
            q.to ? lt(e.createdAt, new Date(q.to)) : undefined,
            k.after(q.cursor),
          ),
        )
        .orderBy(...k.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(k.page(rows, q.limit), 200);
  });
