import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { userIdFor } from "../platform/user-id";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { rowSchema } from "../platform/table-schema";
import { factoryRoute, PERMISSION_PATTERN, runFactory, tenantOf } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { USER_ROLES, USER_STATUSES, users } from "./schema";
import { insertUser, lockSeats, seatState, shownUser, userColumns, userWhere, type UserChange } from "./user-sql";

/** A user as responses carry them: never password_hash (it verifies nothing, and it is no one's business). */
export const User = rowSchema(users, { metadata: JsonObject }).omit({ passwordHash: true }).openapi("FactoryUser");
const UserPage = pageOf(User, "FactoryUserPage");

const Permission = z.string().regex(PERMISSION_PATTERN, "must be resource:action (either may be *)");
const Permissions = z.array(Permission).max(64).openapi({ description: "Widens the role's permissions (§2.2): resource:action, resource:* or *:*" });
const Username = z.string().trim().min(1).max(100);
/** OpenID Connect caps sub at 255 characters; control characters never name anyone (src/platform/auth.ts). */
export const Subject = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\p{Cc}\p{Cs}]/u.test(s), "must not contain control characters")
  .openapi({ description: "The identity provider's sub for this user: users.id is derived from it exactly as from their tokens (a UUID stays itself)" });

export const NewUserInput = z
  .object({
    subject: Subject,
    email: z.email().max(255),
    username: Username,
    role: z.enum(USER_ROLES),
    permissions: Permissions.default([]),
    metadata: JsonObject.default({}),
  })
  .strict()
  .openapi("FactoryUserInput");
const UserPatch = patchBody(
  z.object({ email: z.email().max(255), username: Username, role: z.enum(USER_ROLES), permissions: Permissions, status: z.enum(USER_STATUSES), metadata: JsonObject }).partial().strict(),
).openapi("FactoryUserPatch");
const UserFilter = z.object({ ...PageQuery, role: z.enum(USER_ROLES).optional(), status: z.enum(USER_STATUSES).optional() });

const tags = ["factory"];

const createUser = factoryRoute(
  {
    method: "post",
    path: "/users",
    tags,
    summary: "Provision a user of the caller's tenant (max_users holds exactly); audited",
    permission: "user:write",
    request: { body: jsonBody(NewUserInput) },
    responses: { 201: json(User, "Provisioned") },
  },
  409,
);
const listUsers = factoryRoute({
  method: "get",
  path: "/users",
  tags,
  summary: "The tenant's users, oldest first",
  permission: "user:read",
  request: { query: UserFilter },
  responses: { 200: json(UserPage, "A page of users") },
});
const getUser = factoryRoute(
  { method: "get", path: "/users/{id}", tags, summary: "A user of the tenant", permission: "user:read", request: { params: uuidParams("id") }, responses: { 200: json(User, "The user") } },
  404,
);
const changeUser = factoryRoute(
  {
    method: "patch",
    path: "/users/{id}",
    tags,
    summary: "Change a user's role, permissions, status or profile; audited with the diff",
    description: "Reactivating an inactive user takes a seat (max_users). An admin cannot change their own role or status.",
    permission: "user:write",
    request: { params: uuidParams("id"), body: jsonBody(UserPatch) },
    responses: { 200: json(User, "Changed") },
  },
  404,
  409,
);
const lockUser = factoryRoute(
  {
    method: "post",
    path: "/users/{id}/lock",
    tags,
    summary: "Lock an active user: their next request is refused (403 user_locked); audited",
    permission: "user:write",
    request: { params: uuidParams("id") },
    responses: { 200: json(User, "Locked") },
  },
  404,
  409,
);

const byCreation = keyset([users.createdAt, users.id], "asc");
const noSeat = (state: { maxUsers: number; seatsInUse: number } | undefined) =>
  new ApiError(409, "max_users_reached", `the tenant has ${state?.seatsInUse} users holding seats, its maximum (max_users ${state?.maxUsers})`, {
    maxUsers: state?.maxUsers,
    seatsInUse: state?.seatsInUse,
  });

export const userRoutes = createRouter()
  .openapi(createUser, async (c) => {
    const { db, config } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const input = c.req.valid("json");
    const user = { ...input, id: await userIdFor(config.API_JWT_ISSUER, input.subject), email: input.email.toLowerCase() };
    const [, inserted, seats] = await runFactory(c, createUser, [
      lockSeats(db, tenantId),
      audited(db, userActor(c), { action: "create", resourceType: "user", table: users, change: insertUser(db, tenantId, user) }),
      seatState(db, tenantId),
    ] as const);
    const row = changedRows(users, inserted)[0];
    if (!row) throw noSeat(seats[0]);
    return c.json(shownUser(row), 201);
  })
  .openapi(listUsers, async (c) => {
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listUsers, [
      db
        .select({ ...userColumns, ...byCreation.columns })
        .from(users)
        .where(and(eq(users.tenantId, tenantId), q.role ? eq(users.role, q.role) : undefined, q.status ? eq(users.status, q.status) : undefined, byCreation.after(q.cursor)))
        .orderBy(...byCreation.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byCreation.page(rows, q.limit), 200);
  })
  .openapi(getUser, async (c) => {
    const { db } = c.var;
    const tenantId = tenantOf(c.var.principal!);
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getUser, [db.select(userColumns).from(users).where(and(eq(users.id, id), eq(users.tenantId, tenantId)))] as const);
    if (!rows[0]) throw notFound(`user ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(changeUser, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const tenantId = tenantOf(principal);
    const { id } = c.req.valid("param");
    const change: UserChange = c.req.valid("json");
    if (id === principal.userId && (change.role !== undefined || change.status !== undefined)) {
      throw new ApiError(409, "own_account", "an admin cannot change their own role or status; another admin can");
    }
    if (change.email) change.email = change.email.toLowerCase();
    const where = userWhere(tenantId, id, change);
    const [, updated, current, seats] = await runFactory(c, changeUser, [
      lockSeats(db, tenantId),
      audited(db, userActor(c), { action: "update", resourceType: "user", table: users, where, change: db.update(users).set(change).where(where).returning() }),
      db.select({ status: users.status }).from(users).where(and(eq(users.id, id), eq(users.tenantId, tenantId))),
      seatState(db, tenantId),
    ] as const);
    const row = changedRows(users, updated)[0];
    if (!row) throw current[0] ? noSeat(seats[0]) : notFound(`user ${id}`);
    return c.json(shownUser(row), 200);
  })
  .openapi(lockUser, async (c) => {
    const { db } = c.var;
    const principal = c.var.principal!;
    const tenantId = tenantOf(principal);
    const { id } = c.req.valid("param");
    if (id === principal.userId) throw new ApiError(409, "own_account", "an admin cannot lock themselves; another admin can");
    const where = userWhere(tenantId, id, {}, ["active"]);
    const [locked, current] = await runFactory(c, lockUser, [
      audited(db, userActor(c), { action: "lock", resourceType: "user", table: users, where, change: db.update(users).set({ status: "locked" }).where(where).returning() }),
      db.select({ status: users.status }).from(users).where(and(eq(users.id, id), eq(users.tenantId, tenantId))),
    ] as const);
    const row = changedRows(users, locked)[0];
    if (!row) {
      if (!current[0]) throw notFound(`user ${id}`);
      throw new ApiError(409, "invalid_state", `user ${id} is ${current[0].status}; only an active user can be locked`, { currentStatus: current[0].status });
    }
    return c.json(shownUser(row), 200);
  });
