import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { WebSocketServer, type WebSocket } from "ws";
import { z } from "zod";

/**
 * A real MCP server for the factory's MCP tests, built with the same SDK (McpServer) and speaking
 * every transport the factory does, each under a key the test picks (so tests never share state):
 *
 * - `POST /mcp/<key>`: Streamable HTTP, answers as event streams; `/mcp-json/<key>`: as JSON;
 * - `GET /sse/<key>` + `POST /messages/<key>?sessionId=`: the legacy HTTP+SSE transport;
 * - `/ws/<key>`: WebSocket (subprotocol `mcp`, one JSON-RPC message per frame).
 *
 * Tools: `echo {text}`, `add {a, b}` (structured result), `slow {label}` (sleeps `slowMs`,
 * default 3000, on the key's first `slowFirst` calls, default 1, then answers at once), `fail`
 * (throws: an `isError` result). A key starting `auth-` wants `Authorization: Bearer <token>`.
 * `POST /__control/<key>` sets `{down, hidden, slowFirst, slowMs, echoAuth}` (`hidden`: tool names not offered): `down` answers every MCP
 * request 503 (`echoAuth`: with the request's Authorization header in the body, so tests can check
 * that the client never passes it on). `GET /__stats/<key>` counts requests and tool calls.
 */

interface KeyState {
  down: boolean;
  /** Tools this key's server does not offer (a server that dropped a tool). */
  hidden: string[];
  echoAuth: boolean;
  slowFirst: number;
  slowMs: number;
  requests: number;
  calls: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => resolve(body));
  });
}

/** A server-side Transport over one accepted WebSocket. */
class ServerWebSocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  constructor(private readonly socket: WebSocket) {}
  async start() {
    this.socket.on("message", (data) => {
      try {
        this.onmessage?.(JSONRPCMessageSchema.parse(JSON.parse(String(data))));
      } catch (err) {
        this.onerror?.(err as Error);
      }
    });
    this.socket.on("close", () => this.onclose?.());
  }
  async send(message: JSONRPCMessage) {
    this.socket.send(JSON.stringify(message));
  }
  async close() {
    this.socket.close();
  }
}

export async function startMcpServer() {
  const token = `mcp-token-${crypto.randomUUID()}`;
  const states = new Map<string, KeyState>();
  const stateOf = (key: string) => {
    let s = states.get(key);
    if (!s) states.set(key, (s = { down: false, hidden: [], echoAuth: false, slowFirst: 1, slowMs: 3000, requests: 0, calls: {} }));
    return s;
  };
  const legacy = new Map<string, SSEServerTransport>();

  function mcpServerFor(key: string) {
    const state = stateOf(key);
    const server = new McpServer({ name: "factory-test-mcp", version: "1.0.0" });
    const counted = (name: string) => (state.calls[name] = (state.calls[name] ?? 0) + 1);
    const offered = (name: string) => !state.hidden.includes(name);
    if (offered("echo")) server.registerTool("echo", { description: "Echoes text", inputSchema: { text: z.string() } }, async ({ text }) => {
      counted("echo");
      return { content: [{ type: "text", text }] };
    });
    if (offered("add")) server.registerTool("add", { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } }, async ({ a, b }) => {
      counted("add");
      return { content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } };
    });
    if (offered("slow")) server.registerTool("slow", { description: "Slow on the first calls", inputSchema: { label: z.string() } }, async ({ label }) => {
      const n = counted("slow");
      if (n <= state.slowFirst) await sleep(state.slowMs);
      return { content: [{ type: "text", text: `slow ${label} #${n}` }] };
    });
    if (offered("fail")) server.registerTool("fail", { description: "Always fails", inputSchema: {} }, async () => {
      counted("fail");
      throw new Error("the fail tool failed, as it always does");
    });
    return server;
  }

  const authorized = (key: string, req: IncomingMessage) => !key.startsWith("auth-") || req.headers.authorization === `Bearer ${token}`;

  /** Answers when the key is down or unauthorized; true when it did. */
  function refused(key: string, req: IncomingMessage, res: ServerResponse): boolean {
    const state = stateOf(key);
    state.requests++;
    if (state.down) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`down${state.echoAuth ? ` (you sent ${req.headers.authorization ?? "nothing"})` : ""}`);
      return true;
    }
    if (!authorized(key, req)) {
      res.writeHead(401, { "content-type": "text/plain" }).end("unauthorized");
      return true;
    }
    return false;
  }

  const http = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const [, kind, key = ""] = url.pathname.split("/");
      if (kind === "__control" && req.method === "POST") {
        Object.assign(stateOf(key), JSON.parse(await readBody(req)));
        res.writeHead(204).end();
      } else if (kind === "__stats") {
        const { requests, calls } = stateOf(key);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ requests, calls }));
      } else if (kind === "mcp" || kind === "mcp-json") {
        if (refused(key, req, res)) return;
        // Stateless: a server and transport per request, as the SDK's stateless example does.
        const server = mcpServerFor(key);
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: kind === "mcp-json" });
        res.on("close", () => void transport.close().then(() => server.close()));
        await server.connect(transport);
        const body = req.method === "POST" ? JSON.parse(await readBody(req)) : undefined;
        await transport.handleRequest(req, res, body);
      } else if (kind === "sse" && req.method === "GET") {
        if (refused(key, req, res)) return;
        const transport = new SSEServerTransport(`/messages/${key}`, res);
        legacy.set(transport.sessionId, transport);
        res.on("close", () => legacy.delete(transport.sessionId));
        await mcpServerFor(key).connect(transport);
      } else if (kind === "messages" && req.method === "POST") {
        if (refused(key, req, res)) return;
        const transport = legacy.get(url.searchParams.get("sessionId") ?? "");
        if (!transport) res.writeHead(404).end("no such session");
        else await transport.handlePostMessage(req, res, JSON.parse(await readBody(req)));
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });

  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has("mcp") ? "mcp" : false) });
  http.on("upgrade", (req, socket, head) => {
    const [, kind, key = ""] = new URL(req.url ?? "/", "http://localhost").pathname.split("/");
    const state = stateOf(key);
    state.requests++;
    if (kind !== "ws" || state.down || !authorized(key, req)) {
      socket.end(`HTTP/1.1 ${state.down ? "503 Service Unavailable" : kind !== "ws" ? "404 Not Found" : "401 Unauthorized"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void mcpServerFor(key).connect(new ServerWebSocketTransport(ws)));
  });

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    token,
    async stop() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
