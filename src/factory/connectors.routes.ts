import { z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../platform/context";
import { JsonObject, patchBody } from "../platform/input";
import { keyset } from "../platform/paging";
import { ApiError, fieldError, notFound } from "../platform/problem";
import { json, jsonBody } from "../platform/route";
import { createRouter } from "../platform/router";
import { pageOf, PageQuery, uuidParams } from "../platform/schemas";
import { seal } from "../platform/sealed-secrets";
import { factoryRoute, runFactory, tenantOf } from "./access";
import { audited, changedRows, userActor } from "./audit";
import { checkedConfig, checkedCredentials, checkedEngine, isReachable, unreachable, type ConnectorType } from "./connector-config";
import { credentialsOwner, keysMissing } from "./connector-query";
import { Connector, connectorColumns, connectorOf, sealedBytes } from "./connector-sql";
import { CONNECTION_STATUSES, CONNECTOR_TYPES, dataConnectors } from "./schema";

const ConnectorPage = pageOf(Connector, "FactoryConnectorPage");

// Names are keyset cursors (at most 128 characters, src/platform/paging.ts).
const Name = z.string().trim().min(1).max(128);
const Engine = z.string().min(1).max(50).nullable().optional().openapi({ description: "The product behind the type; postgres takes `postgres`, mysql `mysql` or `mariadb`" });
const Config = JsonObject.openapi({
  description:
    "Per type (docs/factory-connectors.md): postgres and mysql {host, port, database, ssl_enabled, connection_pool, read_only: true, query_timeout_seconds, max_rows}; " +
    "rest_api {base_url, headers, rows_path, health_path, query_timeout_seconds, max_rows}; graphql {endpoint, headers, rows_path, query_timeout_seconds, max_rows}",
});
const Credentials = JsonObject.openapi({
  description: "Write-only, sealed with AES-GCM and never returned: postgres and mysql {username, password}; rest_api and graphql {bearer_token} and/or {headers}",
});

const ConnectorInput = z
  .object({
    name: Name,
    type: z.enum(CONNECTOR_TYPES).openapi({ description: "mssql, oracle and kafka are refused (422): a Worker cannot reach them; put an HTTP gateway in front" }),
    engine: Engine,
    config: Config,
    credentials: Credentials.optional(),
  })
  .strict()
  .openapi("FactoryConnectorInput");
const ConnectorPatch = patchBody(
  z
    .object({
      name: Name,
      type: z.enum(CONNECTOR_TYPES).openapi({ description: "Required with config, credentials or engine: the connector's type, which cannot change" }),
      engine: Engine,
      config: Config,
      credentials: Credentials.nullable().openapi({ description: "New credentials (sealed under the current key), or null to remove them" }),
    })
    .partial()
    .strict(),
).openapi("FactoryConnectorPatch", { description: "A new config or credentials resets status to inactive until the next health check" });

const tags = ["factory"];
const IdParam = uuidParams("id");

const createConnector = factoryRoute(
  {
    method: "post",
    path: "/connectors",
    tags,
    summary: "Register a data connector (§9.1): config checked per type, credentials sealed",
    permission: "connector:create",
    request: { body: jsonBody(ConnectorInput) },
    responses: { 201: json(Connector, "Registered") },
  },
  409,
);
const listConnectors = factoryRoute({
  method: "get",
  path: "/connectors",
  tags,
  summary: "The tenant's data connectors by name, optionally of one type or status",
  permission: "connector:read",
  request: { query: z.object({ type: z.enum(CONNECTOR_TYPES).optional(), status: z.enum(CONNECTION_STATUSES).optional(), ...PageQuery }) },
  responses: { 200: json(ConnectorPage, "A page of connectors") },
});
const getConnector = factoryRoute(
  { method: "get", path: "/connectors/{id}", tags, summary: "A data connector", permission: "connector:read", request: { params: IdParam }, responses: { 200: json(Connector, "The connector") } },
  404,
);
const updateConnector = factoryRoute(
  {
    method: "patch",
    path: "/connectors/{id}",
    tags,
    summary: "Change a data connector's name, engine, config or credentials",
    permission: "connector:update",
    request: { params: IdParam, body: jsonBody(ConnectorPatch) },
    responses: { 200: json(Connector, "Changed") },
  },
  404,
  409,
);
const deleteConnector = factoryRoute(
  {
    method: "delete",
    path: "/connectors/{id}",
    tags,
    summary: "Delete a data connector and its sealed credentials",
    permission: "connector:delete",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" } },
  },
  404,
);

const byName = keyset([dataConnectors.name], "asc");
const nameTaken = (name: string) => new ApiError(409, "connector_name_taken", `a connector named '${name}' already exists in this tenant`, { name });

/** Credentials checked for `type` and sealed for this row under the current key, or null. */
async function sealedCredentials(c: Context<AppEnv>, type: ConnectorType, credentials: Record<string, unknown> | null | undefined, tenantId: string, id: string) {
  if (credentials === null || credentials === undefined) return null;
  const checked = checkedCredentials(type, credentials);
  const keys = c.var.config.FACTORY_CONNECTOR_KEYS;
  if (!keys) throw keysMissing();
  return seal(keys, JSON.stringify(checked), credentialsOwner(tenantId, id));
}

export const connectorRoutes = createRouter()
  .openapi(createConnector, async (c) => {
    const { db } = c.var;
    const input = c.req.valid("json");
    if (!isReachable(input.type)) throw unreachable(input.type);
    const config = checkedConfig(input.type, input.config);
    const engine = checkedEngine(input.type, input.engine);
    if ((input.type === "postgres" || input.type === "mysql") && !input.credentials) throw fieldError("json.credentials", `required for ${input.type}: {username, password} (sealed, never returned)`);
    const tenantId = tenantOf(c.var.principal!);
    const id = crypto.randomUUID();
    const sealed = await sealedCredentials(c, input.type, input.credentials, tenantId, id);
    const change = db
      .insert(dataConnectors)
      .values({ id, tenantId, name: input.name, type: input.type, engine, config, credentialsEncrypted: sealedBytes(sealed) as never, createdBy: sql`app.user_id()` })
      .onConflictDoNothing({ target: [dataConnectors.tenantId, dataConnectors.name] })
      .returning();
    const [created] = await runFactory(c, createConnector, [audited(db, userActor(c), { action: "create", resourceType: "data_connector", table: dataConnectors, change })] as const);
    const row = changedRows(dataConnectors, created)[0];
    if (!row) throw nameTaken(input.name);
    return c.json(connectorOf(row, sealed), 201);
  })
  .openapi(listConnectors, async (c) => {
    const { db } = c.var;
    const q = c.req.valid("query");
    const [rows] = await runFactory(c, listConnectors, [
      db
        .select({ ...connectorColumns, ...byName.columns })
        .from(dataConnectors)
        .where(and(q.type ? eq(dataConnectors.type, q.type) : undefined, q.status ? eq(dataConnectors.status, q.status) : undefined, byName.after(q.cursor)))
        .orderBy(...byName.orderBy)
        .limit(q.limit + 1),
    ] as const);
    return c.json(byName.page(rows, q.limit), 200);
  })
  .openapi(getConnector, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const [rows] = await runFactory(c, getConnector, [db.select(connectorColumns).from(dataConnectors).where(eq(dataConnectors.id, id))] as const);
    if (!rows[0]) throw notFound(`connector ${id}`);
    return c.json(rows[0], 200);
  })
  .openapi(updateConnector, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const touchesType = patch.config !== undefined || patch.credentials !== undefined || patch.engine !== undefined;
    if (touchesType && !patch.type) throw fieldError("json.type", "required with config, credentials or engine: the connector's type, which cannot change");
    // type only names what the connector is (it cannot change): a patch of it alone would set nothing.
    if (!touchesType && patch.name === undefined) throw fieldError("json", "must name at least one field to change (name, engine, config or credentials); type alone changes nothing");
    const type = patch.type;
    if (type && !isReachable(type)) throw unreachable(type);
    const config = patch.config === undefined ? undefined : checkedConfig(type!, patch.config);
    const engine = patch.engine === undefined ? undefined : checkedEngine(type!, patch.engine);
    const tenantId = tenantOf(c.var.principal!);
    const sealed = patch.credentials === undefined ? undefined : await sealedCredentials(c, type!, patch.credentials, tenantId, id);
    // A new config or new credentials make the last health check meaningless: checked again on the next run.
    const recheck = config !== undefined || sealed !== undefined ? { status: "inactive" as const, lastHealthCheckAt: null, lastHealthStatus: null } : {};
    const where = eq(dataConnectors.id, id);
    const taken = patch.name === undefined ? sql`false` : sql`exists (select 1 from ${dataConnectors} o where o.name = ${patch.name} and o.id <> ${id}::uuid)`;
    const change = db
      .update(dataConnectors)
      .set({ name: patch.name, engine, config, ...(sealed === undefined ? {} : { credentialsEncrypted: sealedBytes(sealed) as never }), ...recheck })
      .where(and(where, type ? eq(dataConnectors.type, type) : undefined, sql`not ${taken}`))
      .returning();
    const [updated, state, current] = await runFactory(c, updateConnector, [
      audited(db, userActor(c), { action: "update", resourceType: "data_connector", table: dataConnectors, change, where }),
      db.select({ type: dataConnectors.type, taken: sql<boolean>`${taken}` }).from(dataConnectors).where(where),
      // After the change in the same transaction: the credentials as they now are.
      db.select({ sealed: sql<string | null>`convert_from(${dataConnectors.credentialsEncrypted}, 'UTF8')` }).from(dataConnectors).where(where),
    ] as const);
    const row = changedRows(dataConnectors, updated)[0];
    if (row) return c.json(connectorOf(row, current[0]?.sealed ?? null), 200);
    if (!state[0]) throw notFound(`connector ${id}`);
    if (type && state[0].type !== type) {
      throw new ApiError(409, "connector_type_mismatch", `connector ${id} is of type ${state[0].type}, not ${type}: a connector's type cannot change`, { currentType: state[0].type });
    }
    throw nameTaken(patch.name!);
  })
  .openapi(deleteConnector, async (c) => {
    const { db } = c.var;
    const { id } = c.req.valid("param");
    const where = eq(dataConnectors.id, id);
    const [deleted] = await runFactory(c, deleteConnector, [
      audited(db, userActor(c), { action: "delete", resourceType: "data_connector", table: dataConnectors, change: db.delete(dataConnectors).where(where).returning(), where }),
    ] as const);
    if (!deleted.rows.length) throw notFound(`connector ${id}`);
    return c.body(null, 204);
  });
