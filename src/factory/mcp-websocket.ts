import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * An MCP client transport over a WebSocket opened the Workers way: a fetch with `Upgrade:
 * websocket`, so the request can carry the server's auth headers (the SDK's own
 * WebSocketClientTransport uses `new WebSocket(url)`, which sends none). Subprotocol `mcp`, one
 * JSON-RPC message per text frame, as the SDK's transport speaks it.
 */
export class WorkersWebSocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private socket?: WebSocket;

  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
    private readonly signal?: AbortSignal,
  ) {}

  async start(): Promise<void> {
    if (this.socket) throw new Error("the WebSocket transport is already started");
    // fetch() upgrades http(s) URLs; ws(s) names the same endpoint.
    const url = new URL(this.url);
    url.protocol = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    const response = await fetch(url, { headers: { ...this.headers, Upgrade: "websocket", "Sec-WebSocket-Protocol": "mcp" }, signal: this.signal, redirect: "manual" });
    const socket = response.webSocket;
    if (!socket) {
      await response.body?.cancel();
      throw new WebSocketUpgradeError(response.status);
    }
    socket.accept();
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      let message: JSONRPCMessage;
      try {
        message = JSONRPCMessageSchema.parse(JSON.parse(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer)));
      } catch (err) {
        this.onerror?.(err as Error);
        return;
      }
      this.onmessage?.(message);
    });
    socket.addEventListener("close", () => this.onclose?.());
    socket.addEventListener("error", (event) => this.onerror?.(new Error(`WebSocket error: ${(event as ErrorEvent).message ?? "unknown"}`)));
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.socket) throw new Error("the WebSocket transport is not connected");
    this.socket.send(JSON.stringify(message));
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.close(1000, "done");
      this.onclose?.();
    }
  }
}

/** The server answered the upgrade with something other than 101. */
export class WebSocketUpgradeError extends Error {
  constructor(readonly status: number) {
    super(`the server refused the WebSocket upgrade (HTTP ${status})`);
  }
}
