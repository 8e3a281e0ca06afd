import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { runAs } from "../platform/db";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { agentRole, agentRoute, callerOrg, notProvisioned, requireAgentRole } from "./access";
import { Language } from "./fields";
import { cacheApiKey, forgetApiKey, hashApiKey, newApiKey } from "./api-keys";
import { USER_ROLES, users } from "./schema";
import { insertUser, lockSeats, orgState, replaceApiKey, updateUser, userColumns } from "./user-sql";

export const User = rowSchema(users, { preferences: JsonObject.nullable() }).omit({ passwordHash: true, apiKeyHash: true }).openapi("AgentUser");
const UserPage = pageOf(User, "AgentUserPage");

const Role = z.enum(USER_ROLES);
const Name = z.string().trim().min(1).max(100);

const UserInput = z
  .object({
    id: z.uuid().openapi({ description: "The user id their tokens will carry (README: user ids from any identity provider)" }),
    email: z.email().max(255),
    name: Name.optional(),
    role: Role.default("user"),
    language: Language.optional(),
  })
  .strict()
  .openapi("AgentUserInput");
const SelfInput = z.object({ name: Name.optional(), language: Language.optional() }).strict().openapi("AgentSelfProvision");
const UserPatch = patchBody(z.object({ name: Name.nullable(), role: Role, isActive: z.boolean(), language: Language.nullable() }).partial().strict()).openapi("AgentUserPatch");
const ApiKey = z
  .object({
    apiKey: z.string().openapi({ description: "Shown once: only its SHA-256 is stored. Send it as Authorization: ApiKey <key>" }),
    userId: z.uuid(),
    createdAt: z.iso.datetime(),
  })
  .openapi("AgentApiKey");

const tags = ["agent"];

const provisionUser = agentRoute(
  {
    method: "post",
    path: "/users",
    tags,
    summary: "Provision a user in the admin's organization (max_users holds)",
    request: { body: jsonBody(UserInput) },
    responses: { 201: json(User, "Provisioned") },
  },
  403,
  404,
  409,
);
const provisionSelf = agentRoute(
  {
    method: "post",
    path: "/users/me",
    tags,
    summary: "Provision the caller from the token: its email claim, its tenant_id (organization) and its role",
    request: { body: jsonBody(SelfInput, { required: false }) },
    responses: { 201: json(User, "Provisioned") },
  },
  404,
  409,
);
const getSelf = agentRoute(
  { method: "get", path: "/users/me", tags, summary: "The caller's user", responses: { 200: json(User, "The caller") } },
  404,
);
const listUsers = agentRoute({
  method: "get",
  path: "/users",
  tags,
  summary: "The users of the caller's organization, oldest first",
  request: { query: z.object(PageQuery) },
  responses: { 200: json(UserPage, "A page of users") },
});
const getUser = agentRoute(
  { method: "get", path: "/users/{id}", tags, summary: "A user of the caller's organization", request: { params: uuidParams("id") }, responses: { 200: json(User, "The user") } },
  404,
);
const changeUser = agentRoute(
  {
    method: "patch",
    path: "/users/{id}",
    tags,
    summary: "Change a user's name, role, language or status (admins); their API key acts with the change at once",
    request: { params: uuidParams("id"), body: jsonBody(UserPatch) },
    responses: { 200: json(User, "Changed") },
  },
  403,
  404,
  409,
);
const createKey = agentRoute(
  {
    method: "post",
    path: "/users/me/api-key",
    tags,
    summary: "Create the caller's API key, or rotate it (the previous key stops working at once); bearer tokens only",
    responses: { 201: json(ApiKey, "The new key, shown once") },
  },
  403,
  409,
);
const deleteKey = agentRoute(
  {
    method: "delete",
    path: "/users/me/api-key",
    tags,
    summary: "Revoke the caller's API key; the next request with it is refused",
    responses: { 204: { description: "Revoked (or there was none)" } },
  },
  403,
  409,
);

/** Why no user was added: the organization is missing (or not the caller's), inactive or full. */
function provisionRefused(orgId: string, state: { isActive: boolean | null; maxUsers: number | null; activeUsers: number } | undefined): ApiError {
  if (!state) return notFound(`organization ${orgId}`);
  if (!state.isActive) return new ApiError(409, "organization_inactive", `organization ${orgId} is not active`);
  return new ApiError(409, "max_users_reached", `organization ${orgId} has ${state.activeUsers} active users, its maximum (max_users ${state.maxUsers})`, {
    maxUsers: state.maxUsers,
    activeUsers: state.activeUsers,
  });
}

const byCreation = keyset([users.createdAt, users.id], "asc");

export const userRoutes = createRouter()
  .openapi(provisionSelf, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const orgId = callerOrg(principal);
    if (!orgId) throw notFound(`organization ${principal.tenantId ?? "(the token names none)"}`);
    if (!principal.token) throw new ApiError(409, "user_exists", "an API key's user is provisioned already");
    if (!principal.email) throw fieldError("token.email", "the token carries no email claim to provision the user from");
    const input = c.req.valid("json") ?? {};
    const user = { id: principal.userId, email: principal.email, name: input.name, language: input.language, role: agentRole(principal) };
    const [, rows, state] = await runAs(db, principal, [lockSeats(db, orgId), insertUser(db, orgId, user), orgState(db, orgId)] as const);
    if (!rows[0]) throw provisionRefused(orgId, state[0]);
    return c.json(rows[0], 201);
  })
  .openapi(getSelf, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const [rows] = await runAs(db, principal, [db.select(userColumns).from(users).where(eq(users.id, principal.userId))] as const);
    if (!rows[0]) throw notFound(`user ${principal.userId}`);
    return c.json(rows[0], 200);
  })
  .openapi(createKey, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    // A leaked key must not outlive its revocation by minting its successor.
    if (!principal.token) throw new ApiError(403, "token_required", "API keys are created and rotated with a bearer token, not with an API key");
    const orgId = callerOrg(principal);
    if (!orgId) throw notProvisioned(principal);
    const apiKey = newApiKey();
    const hash = await hashApiKey(apiKey);
    const [locked, updated] = await runAs(db, principal, replaceApiKey(db, principal.userId, orgId, hash));
    const row = updated[0];
    if (!row) throw notProvisioned(principal);
    const previous = locked[0]?.previous;
    await Promise.all([
      previous ? forgetApiKey(redis, config, previous) : null,
      cacheApiKey(redis, config, hash, { userId: row.id, organizationId: orgId, role: row.role ?? "user" }),
    ]);
    return c.json({ apiKey, userId: row.id, createdAt: row.updatedAt!.toISOString() }, 201);
  })
  .openapi(deleteKey, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    if (!principal.token) throw new ApiError(403, "token_required", "API keys are revoked with a bearer token, not with an API key");
    const orgId = callerOrg(principal);
    if (!orgId) throw notProvisioned(principal);
    const [locked, updated] = await runAs(db, principal, replaceApiKey(db, principal.userId, orgId, null));
    if (!updated[0]) throw notProvisioned(principal);
    const previous = locked[0]?.previous;
    if (previous) await forgetApiKey(redis, config, previous);
    return c.body(null, 204);
  })
  .openapi(provisionUser, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, ["admin"], "provision users");
    const orgId = callerOrg(principal);
    if (!orgId) throw notFound(`organization ${principal.tenantId ?? "(the token names none)"}`);
    const input = c.req.valid("json");
    const [, rows, state] = await runAs(db, principal, [lockSeats(db, orgId), insertUser(db, orgId, { ...input, email: input.email.toLowerCase() }), orgState(db, orgId)] as const);
    if (!rows[0]) throw provisionRefused(orgId, state[0]);
    return c.json(rows[0], 201);
  })
  .openapi(listUsers, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const q = c.req.valid("query");
    const orgId = callerOrg(principal);
    if (!orgId) return c.json({ items: [], nextCursor: null }, 200);
    const [rows] = await runAs(db, principal, [
      db
        .select({ ...userColumns, ...byCreation.columns })
        .from(users)
        .where(and(eq(users.organizationId, orgId), byCreation.after(q.cursor)))
        .orderBy(...byCreation.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byCreation.page(rows, q.limit), 200);
  })
  .openapi(getUser, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runAs(db, c.var.principal, [db.select(userColumns).from(users).where(eq(users.id, id))] as const);
    if (!rows[0]) throw notFound(`user ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(changeUser, async (c) => {
    const { db, redis, config } = c.var;
    const principal = c.var.principal!;
    requireAgentRole(principal, ["admin"], "change users");
    const { id } = c.req.valid("param");
    const orgId = callerOrg(principal);
    if (!orgId) throw notFound(`user ${id}`);
    const [, rows, state, exists] = await runAs(db, principal, [
      lockSeats(db, orgId),
      updateUser(db, orgId, id, c.req.valid("json")),
      orgState(db, orgId),
      db.select({ id: users.id }).from(users).where(and(eq(users.id, id), eq(users.organizationId, orgId))),
    ] as const);
    const row = rows[0];
    if (!row) throw exists[0] ? provisionRefused(orgId, state[0]) : notFound(`user ${id}`);
    const { apiKeyHash, ...user } = row;
    // The key's cached role and status are now wrong: the next request reloads them.
    if (apiKeyHash) await forgetApiKey(redis, config, apiKeyHash);
    return c.json(user, 200);
  });
