import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/**
 * MCP's two HTTP transports as client Transports for the SDK's Client, written for a Worker's
 * one-session-per-call use. The SDK's own (StreamableHTTPClientTransport, SSEClientTransport)
 * bundle its OAuth client (about 7 KiB gzip, unused here: a registered server takes a bearer token
 * or headers from auth_config), which would put the factory's Worker over its size budget. What
 * they do that a tool call needs is here: POST and read JSON or an event stream; a session id;
 * the protocol version header; no redirect followed, so credentials reach the registered origin only.
 */

/** The server answered with an HTTP status that is no answer (`status` -1: not an answer at all). */
export class McpHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Server-sent events of a response body, as `{event, data}` (WHATWG's parsing, minus retry and id). */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const parseMessage = (text: string) => JSONRPCMessageSchema.parse(JSON.parse(text));

async function refusal(response: Response): Promise<McpHttpError> {
  const text = (await response.text().catch(() => "")).slice(0, 300);
  const where = response.status >= 300 && response.status < 400 ? ` (a redirect to ${response.headers.get("location") ?? "?"}, not followed)` : "";
  return new McpHttpError(response.status, `HTTP ${response.status}${where}${text ? `: ${text}` : ""}`);
}

abstract class HttpTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  protected readonly aborter = new AbortController();
  protected protocolVersion?: string;

  constructor(
    protected readonly url: URL,
    protected readonly headers: Record<string, string>,
    signal?: AbortSignal,
  ) {
    signal?.addEventListener("abort", () => this.aborter.abort(signal.reason));
  }

  abstract start(): Promise<void>;
  abstract send(message: JSONRPCMessage): Promise<void>;

  setProtocolVersion(version: string) {
    this.protocolVersion = version;
  }

  protected requestHeaders(extra: Record<string, string>): Record<string, string> {
    return { ...this.headers, ...(this.protocolVersion ? { "mcp-protocol-version": this.protocolVersion } : {}), ...extra };
  }

  /** Dispatches each event of `body` that carries a JSON-RPC message; other events go to `other`. */
  protected async pump(body: ReadableStream<Uint8Array>, other?: (event: string, data: string) => void) {
    try {
      for await (const { event, data } of serverSentEvents(body)) {
        if (event !== "message") {
          other?.(event, data);
          continue;
        }
        try {
          this.onmessage?.(parseMessage(data));
        } catch (err) {
          this.onerror?.(err as Error);
        }
      }
    } catch (err) {
      if (!this.aborter.signal.aborted) this.onerror?.(err as Error);
    }
  }

  async close(): Promise<void> {
    if (this.aborter.signal.aborted) return;
    this.aborter.abort();
    this.onclose?.();
  }
}

/** Streamable HTTP (MCP 2025-03-26 and later): every message a POST to the one endpoint; answers as JSON or an event stream. */
export class StreamableHttpTransport extends HttpTransport {
  sessionId?: string;

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: this.requestHeaders({
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(this.sessionId ? { "mcp-session-id": this.sessionId } : {}),
      }),
      body: JSON.stringify(message),
      signal: this.aborter.signal,
      redirect: "manual",
    });
    this.sessionId = response.headers.get("mcp-session-id") ?? this.sessionId;
    if (!response.ok) throw await refusal(response);
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (response.status === 202 || !("id" in message && "method" in message)) {
      await response.body?.cancel();
      return;
    }
    if (type === "application/json") {
      const data = (await response.json()) as unknown;
      for (const m of Array.isArray(data) ? data : [data]) this.onmessage?.(JSONRPCMessageSchema.parse(m));
    } else if (type === "text/event-stream" && response.body) {
      void this.pump(response.body);
    } else {
      await response.body?.cancel();
      throw new McpHttpError(-1, `the server answered a request with content type ${type || "none"}`);
    }
  }
}

/**
 * The 2024-11-05 HTTP+SSE transport: a GET event stream whose first `endpoint` event names where
 * to POST messages (same origin only); answers arrive on the stream.
 */
export class LegacySseTransport extends HttpTransport {
  private postUrl?: URL;

  async start(): Promise<void> {
    const response = await fetch(this.url, { headers: this.requestHeaders({ accept: "text/event-stream" }), signal: this.aborter.signal, redirect: "manual" });
    if (!response.ok || !response.body) throw await refusal(response);
    await new Promise<void>((resolve, reject) => {
      const pumped = this.pump(response.body!, (event, data) => {
        if (event !== "endpoint" || this.postUrl) return;
        const url = new URL(data, this.url);
        if (url.origin !== this.url.origin) {
          reject(new McpHttpError(-1, `the server named an endpoint on another origin (${url.origin})`));
          return;
        }
        this.postUrl = url;
        resolve();
      });
      void pumped.then(() => reject(new McpHttpError(-1, "the event stream ended before it named an endpoint")));
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.postUrl) throw new McpHttpError(-1, "not connected");
    const response = await fetch(this.postUrl, {
      method: "POST",
      headers: this.requestHeaders({ "content-type": "application/json" }),
      body: JSON.stringify(message),
      signal: this.aborter.signal,
      redirect: "manual",
    });
    if (!response.ok) throw await refusal(response);
    await response.body?.cancel();
  }
}
