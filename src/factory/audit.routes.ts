import { z } from "@hono/zod-openapi";
import { and, eq, gte, lt } from "drizzle-orm";
import { JsonObject } from "../platform/input";
import { keyset } from "../platform/paging";
import { json } from "../platform/route";
import { createRouter } from "../platform/router";
import { checkRange, pageOf, PageQuery, Timestamp } from "../platform/schemas";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { ACTOR_TYPES, auditLogs } from "./schema";

const PatchOp = z.object({ op: z.enum(["add", "remove", "replace"]), path: z.string(), value: z.unknown().optional() }).openapi("FactoryJsonPatchOperation");
export const AuditLog = rowSchema(auditLogs, {
  beforeState: JsonObject.nullable(),
  afterState: JsonObject.nullable(),
  diff: z.array(PatchOp).nullable().openapi({ description: "RFC 6902 JSON Patch from before_state to after_state" }),
}).openapi("FactoryAuditLog");
const AuditPage = pageOf(AuditLog, "FactoryAuditLogPage");

const Word = z.string().min(1).max(100);
const AuditQuery = z.object({
  ...PageQuery,
  actorId: z.uuid().optional(),
  actorType: z.enum(ACTOR_TYPES).optional(),
  action: Word.optional(),
  resourceType: Word.optional(),
  resourceId: z.string().min(1).max(128).optional(),
  from: Timestamp.optional().openapi({ description: "created_at at or after" }),
  to: Timestamp.optional().openapi({ description: "created_at before" }),
});

const listAudit = factoryRoute({
  method: "get",
  path: "/audit-logs",
  tags: ["factory"],
  summary: "The tenant's audit log, newest first, filtered by actor, action, resource and time",
  permission: "audit:read",
  request: { query: AuditQuery },
  responses: { 200: json(AuditPage, "A page of audit rows") },
});

const newestFirst = keyset([auditLogs.createdAt, auditLogs.id], "desc");

export const auditRoutes = createRouter().openapi(listAudit, async (c) => {
  const { db } = c.var;
  const tenantId = tenantOf(c.var.principal!);
  const q = c.req.valid("query");
  checkRange(q.from, q.to);
  const [rows] = await runFactory(c, listAudit, [
    db
      .select({ ...columnsOf(auditLogs), ...newestFirst.columns })
      .from(auditLogs)
      .where(
        and(
          eq(auditLogs.tenantId, tenantId),
          q.actorId ? eq(auditLogs.actorId, q.actorId) : undefined,
          q.actorType ? eq(auditLogs.actorType, q.actorType) : undefined,
          q.action ? eq(auditLogs.action, q.action) : undefined,
          q.resourceType ? eq(auditLogs.resourceType, q.resourceType) : undefined,
          q.resourceId ? eq(auditLogs.resourceId, q.resourceId) : undefined,
          q.from ? gte(auditLogs.createdAt, new Date(q.from)) : undefined,
          q.to ? lt(auditLogs.createdAt, new Date(q.to)) : undefined,
          newestFirst.after(q.cursor),
        ),
      )
      .orderBy(...newestFirst.orderBy)
      .limit(q.limit + 1),
  ] as const);
  return c.json(newestFirst.page(rows, q.limit), 200);
});
