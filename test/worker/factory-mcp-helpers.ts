import { expect } from "vitest";
import { testEnv } from "./helpers";
import { callKept as call, watch } from "./factory-connectors-helpers";
import type { FactoryUser } from "./factory-helpers";

/**
 * Shared by the factory MCP tests: the MCP server started by test/setup/mcp-server.ts (a real
 * McpServer of the SDK), addressed per test by a fresh key so tests never share its state.
 */

export const BASE = "/api/v1/factory/mcp";
export const mcpUrl = testEnv.TEST_MCP_URL!;
/** The token `auth-` keys want: searched for in everything the tests keep. */
export const mcpToken = watch(testEnv.TEST_MCP_TOKEN!);

export type Transport = "streamable_http" | "streamable_json" | "legacy_sse" | "websocket";

/** A fresh key (prefix `auth-` for a server that wants the bearer token). */
export const freshKey = (auth = false) => `${auth ? "auth-" : ""}k-${crypto.randomUUID()}`;

/** The registration body of a server on the test MCP server under `key`, over `transport`. */
export function serverBody(key: string, transport: Transport, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const endpoint = {
    streamable_http: `${mcpUrl}/mcp/${key}`,
    streamable_json: `${mcpUrl}/mcp-json/${key}`,
    legacy_sse: `${mcpUrl}/sse/${key}`,
    websocket: `${mcpUrl.replace(/^http/, "ws")}/ws/${key}`,
  }[transport];
  return {
    name: `mcp-${crypto.randomUUID()}`,
    endpoint,
    protocol: transport === "websocket" ? "websocket" : "sse",
    config: { ...(transport === "legacy_sse" ? { transport: "legacy_sse" } : {}), ...config },
    ...(key.startsWith("auth-") ? { authConfig: { bearer_token: mcpToken } } : {}),
    ...extra,
  };
}

/** Sets the test server's behaviour for `key`. */
export async function control(key: string, settings: { down?: boolean; hidden?: string[]; echoAuth?: boolean; slowFirst?: number; slowMs?: number }) {
  const res = await fetch(`${mcpUrl}/__control/${key}`, { method: "POST", body: JSON.stringify(settings) });
  expect(res.status).toBe(204);
}

/** What the test server saw under `key`. */
export async function stats(key: string): Promise<{ requests: number; calls: Record<string, number> }> {
  return (await fetch(`${mcpUrl}/__stats/${key}`)).json();
}

/** Registers a server and discovers its tools; returns the server and its tools by name. */
export async function registered(user: FactoryUser, body: Record<string, unknown>) {
  const created = await call("POST", `${BASE}/servers`, { token: user.bearer, body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const discovered = await call("POST", `${BASE}/servers/${created.body.id}/discover`, { token: user.bearer });
  expect(discovered.status, JSON.stringify(discovered.body)).toBe(200);
  const tools: Record<string, { id: string; mcpServerId: string }> = Object.fromEntries(discovered.body.tools.map((t: { toolName: string }) => [t.toolName, t]));
  return { server: created.body, tools, discovery: discovered.body };
}
