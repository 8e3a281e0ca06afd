import { z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../platform/db";
import { JsonObject } from "../platform/input";
import { columnsOf, rowSchema } from "../platform/table-schema";
import { mcpServers, mcpTools } from "./schema";

/**
 * Statements on factory.mcp_servers and mcp_tools. auth_config holds `{"sealed": "v1.<kid>.…"}`
 * (src/platform/sealed-secrets.ts, bound to the row's tenant and id); responses carry only
 * whether there is one and the key id that sealed it.
 */

export type Runner = <T extends readonly BatchItem<"pg">[]>(statements: T) => Promise<{ [K in keyof T]: Awaited<T[K]> }>;

export const McpServer = rowSchema(mcpServers, { config: JsonObject })
  .omit({ authConfig: true })
  .extend({
    hasAuth: z.boolean(),
    authKeyId: z.string().nullable().openapi({ description: "The key that sealed auth_config (FACTORY_CONNECTOR_KEYS); a retired kid means it should be set again" }),
  })
  .openapi("FactoryMcpServer");
export type McpServer = z.infer<typeof McpServer>;

export const McpTool = rowSchema(mcpTools, { inputSchema: JsonObject, outputSchema: JsonObject.nullable() }).openapi("FactoryMcpTool");

const { authConfig: _sealed, ...visible } = columnsOf(mcpServers);

/** A server as responses carry it. */
export const serverColumns = {
  ...visible,
  hasAuth: sql<boolean>`(${mcpServers.authConfig} is not null)`,
  authKeyId: sql<string | null>`nullif(split_part(${mcpServers.authConfig} ->> 'sealed', '.', 2), '')`,
};

/** What auth_config stores for a sealed value. */
export const sealedAuth = (sealed: string | null) => (sealed === null ? null : { sealed });

/** What sealed auth_config is bound to: the row it belongs to (a copied ciphertext opens nowhere else). */
export const authOwner = (tenantId: string, serverId: string) => `factory.mcp_servers/${tenantId}/${serverId}`;

/** A row as a response carries it, from what an audited() statement returned. */
export function serverOf(row: typeof mcpServers.$inferSelect): McpServer {
  const { authConfig, ...rest } = row;
  const sealed = (authConfig as { sealed?: string } | null)?.sealed ?? null;
  return { ...rest, hasAuth: sealed !== null, authKeyId: sealed?.split(".")[1] ?? null } as unknown as McpServer;
}

/** A server with its sealed auth_config, to talk to it (in the caller's batch). */
export const serverForSession = (db: Database, id: string) =>
  db
    .select({
      id: mcpServers.id,
      tenantId: mcpServers.tenantId,
      protocol: mcpServers.protocol,
      endpoint: mcpServers.endpoint,
      config: mcpServers.config,
      sealedAuth: sql<string | null>`${mcpServers.authConfig} ->> 'sealed'`,
    })
    .from(mcpServers)
    .where(eq(mcpServers.id, id));

/** A tool as discovery found it. */
export interface DiscoveredTool {
  name: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown> | null;
}

/**
 * Discovery's result in one statement: each listed tool inserted or its description and schemas
 * refreshed (is_enabled left as an admin set it), every tool the server no longer lists
 * disabled (kept: call logs reference it), and the server marked reachable or not.
 */
export const writeDiscovery = (db: Database, serverId: string, tools: DiscoveredTool[] | null, failure: string | null) =>
  db.execute<{ tool_name: string; action: string }>(sql`
    with listed as (
      select * from jsonb_to_recordset(${JSON.stringify(tools ?? [])}::jsonb)
        as l(name text, description text, "inputSchema" jsonb, "outputSchema" jsonb)
    ),
    server as (
      update factory.mcp_servers set status = ${failure === null ? "active" : "error"}, last_health_check_at = now()
      where id = ${serverId}::uuid
      returning id
    ),
    upserted as (
      insert into factory.mcp_tools (mcp_server_id, tool_name, description, input_schema, output_schema)
      select server.id, l.name, l.description, l."inputSchema", l."outputSchema" from listed l cross join server
      where ${tools !== null}
      on conflict (mcp_server_id, tool_name) do update
        set description = excluded.description, input_schema = excluded.input_schema, output_schema = excluded.output_schema
      returning tool_name, (xmax = 0) as inserted
    ),
    removed as (
      update factory.mcp_tools t set is_enabled = false
      from server
      where ${tools !== null} and t.mcp_server_id = server.id and t.is_enabled
        and not exists (select 1 from listed l where l.name = t.tool_name)
      returning t.tool_name
    )
    select tool_name, case when inserted then 'added' else 'updated' end as action from upserted
    union all
    select tool_name, 'disabled' from removed`);
