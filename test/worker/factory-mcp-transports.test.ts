import { describe, expect, it } from "vitest";
import { roundTrips } from "./helpers";
import { seedTenant } from "./factory-helpers";
import { callKept as call, searchForSecrets } from "./factory-connectors-helpers";
import { BASE, freshKey, registered, serverBody, stats, type Transport } from "./factory-mcp-helpers";

searchForSecrets();

describe("factory MCP: every transport against a real MCP server (the SDK's McpServer)", () => {
  const transports: Transport[] = ["streamable_http", "streamable_json", "legacy_sse", "websocket"];
  for (const transport of transports) {
    it(`${transport}: discovers the tools and calls them, with the bearer token from the sealed auth_config`, async () => {
      const { admin } = await seedTenant();
      const key = freshKey(true);
      const { server, tools, discovery } = await registered(admin, serverBody(key, transport));
      expect(server).toMatchObject({ hasAuth: true, authKeyId: "k2026", circuitBreakerState: "closed", failCount: 0 });
      expect(discovery.added.sort()).toEqual(["add", "echo", "fail", "slow"]);
      expect(tools.add).toMatchObject({ isEnabled: true, usageCount: 0, inputSchema: { type: "object", properties: { a: { type: "number" } } } });

      const add = await call("POST", `${BASE}/tools/${tools.add!.id}/call`, { token: admin.bearer, body: { arguments: { a: 2, b: 40 } } });
      expect(add.status, JSON.stringify(add.body)).toBe(200);
      expect(add.body).toMatchObject({ tool: "add", retryCount: 0, result: { structuredContent: { sum: 42 }, content: [{ type: "text", text: "42" }] }, circuit: { state: "closed", failCount: 0 } });
      expect(await roundTrips(add.requestId)).toEqual({ neon: 2, upstash: expect.any(Number) });
      const echo = await call("POST", `${BASE}/tools/${tools.echo!.id}/call`, { token: admin.bearer, body: { arguments: { text: "héllo ✓" } } });
      expect(echo.body.result.content).toEqual([{ type: "text", text: "héllo ✓" }]);
      expect((await stats(key)).calls).toMatchObject({ add: 1, echo: 1 });
    });
  }
});
