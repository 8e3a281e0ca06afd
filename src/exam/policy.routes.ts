import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { hasRole } from "../platform/auth";
import { runAs } from "../platform/db";
import { problemResponses } from "../platform/openapi";
import { ApiError } from "../platform/problem";
import { createRouter } from "../platform/router";
import { MAX_URL_LENGTH } from "./host-allowlist";
import { clientIp, decideVerdict, POLICY_ACTIONS } from "./policy-verdict";
import { OPEN_STATES } from "./session-machine";
import { refused, SessionId } from "./sessions.routes";
import { auditPolicyEvents, SESSION_STATUSES, sessions, VERDICTS } from "./schema";
import { decodeCursor, exactTime, ExactTimeKey, paginate } from "../platform/paging";

const MAX_USER_AGENT = 512;

const PolicyEventInput = z
  .object({
    action: z.enum(POLICY_ACTIONS),
    url: z.string().min(1).max(MAX_URL_LENGTH).optional().openapi({ description: "Required for REFERENCE_OPEN: the URL the learner opened" }),
  })
  .strict()
  .refine((e) => e.action !== "REFERENCE_OPEN" || e.url !== undefined, { path: ["url"], message: "required for REFERENCE_OPEN" })
  .openapi("PolicyEventInput");

const PolicyEvent = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    sessionId: z.uuid().nullable(),
    policyId: z.uuid().nullable(),
    action: z.string(),
    verdict: z.enum(VERDICTS),
    reasonCode: z.string().nullable(),
    clientIp: z.string().nullable(),
    userAgent: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("PolicyEvent");

const columns = {
  id: auditPolicyEvents.id,
  userId: auditPolicyEvents.userId,
  sessionId: auditPolicyEvents.sessionId,
  policyId: auditPolicyEvents.policyId,
  action: auditPolicyEvents.action,
  verdict: auditPolicyEvents.verdict,
  reasonCode: auditPolicyEvents.reasonCode,
  clientIp: auditPolicyEvents.clientIp,
  userAgent: auditPolicyEvents.userAgent,
  createdAt: auditPolicyEvents.createdAt,
};

const report = createRoute({
  method: "post",
  path: "/sessions/{id}/policy-events",
  tags: ["exam"],
  summary: "Report a learner action during a lab (session RUNNING or PAUSED); the server decides the verdict",
  description:
    "REFERENCE_OPEN: a URL whose host is in REFERENCE_ALLOWLIST_DOMAINS (or a subdomain) is ALLOW; anything else WARN in PRACTICE modes, BLOCK in MOCK. A BLOCK in a MOCK session force-closes it in the same transaction.",
  request: { params: SessionId, body: { required: true, content: { "application/json": { schema: PolicyEventInput } } } },
  responses: {
    201: {
      description: "Recorded",
      content: { "application/json": { schema: PolicyEvent.extend({ sessionStatus: z.enum(SESSION_STATUSES) }).openapi("PolicyEventRecorded") } },
    },
    ...problemResponses(401, 404, 409, 413, 415, 422, 429),
  },
});

/** Keyset position: the last row's (user_id, created_at with microseconds, id). */
const Cursor = z.object({ u: z.uuid(), t: ExactTimeKey, i: z.uuid() }).strict();

const audit = createRoute({
  method: "get",
  path: "/audit/policy-events",
  tags: ["exam"],
  summary: "The policy audit trail (proctor, admin), by user then newest first, keyset-paginated",
  request: {
    query: z.object({
      userId: z.uuid().optional(),
      sessionId: z.uuid().optional(),
      verdict: z.enum(VERDICTS).optional(),
      from: z.iso.datetime().optional().openapi({ description: "created_at ≥ from" }),
      to: z.iso.datetime().optional().openapi({ description: "created_at < to" }),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().max(512).optional().openapi({ description: "nextCursor of the previous page" }),
    }),
  },
  responses: {
    200: {
      description: "A page of events",
      content: { "application/json": { schema: z.object({ items: z.array(PolicyEvent), nextCursor: z.string().nullable() }) } },
    },
    ...problemResponses(401, 403, 422, 429),
  },
});

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
        .returning(columns),
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
    if (!hasRole(principal, "proctor", "admin")) {
      throw new ApiError(403, "forbidden", "only a proctor or admin may read the policy audit trail");
    }
    const q = c.req.valid("query");
    const after = decodeCursor(q.cursor, Cursor) ?? null;
    const e = auditPolicyEvents;
    const [rows] = await runAs(db, principal, [
      db
        .select({
          ...columns,
          // Microseconds: a JS Date would drop them and the next page would repeat or skip rows.
          position: exactTime(e.createdAt),
        })
        .from(e)
        .where(
          and(
            q.userId ? eq(e.userId, q.userId) : undefined,
            q.sessionId ? eq(e.sessionId, q.sessionId) : undefined,
            q.verdict ? eq(e.verdict, q.verdict) : undefined,
            q.from ? gte(e.createdAt, new Date(q.from)) : undefined,
            q.to ? lt(e.createdAt, new Date(q.to)) : undefined,
            after
              ? sql`(${e.userId} > ${after.u}::uuid or (${e.userId} = ${after.u}::uuid and (${e.createdAt}, ${e.id}) < (${after.t}::timestamptz, ${after.i}::uuid)))`
              : undefined,
          ),
        )
        // Served by idx_audit_policy_events_user_created (user_id, created_at desc); id breaks ties.
        .orderBy(asc(e.userId), desc(e.createdAt), desc(e.id))
        .limit(q.limit + 1),
    ] as const);
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({ u: last.userId, t: last.position, i: last.id }));
    return c.json({ items: items.map(({ position: _position, ...item }) => item), nextCursor }, 200);
  });
