import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { dumpMetadata, dumpPut, dumpWrites, hasThread, loadTuple, target, type WireTuple } from "./checkpoint-wire";

export interface HttpSaverOptions {
  /** The API's origin, e.g. https://api.example.com. */
  baseUrl: string;
  /** A bearer token, or a function returning a fresh one per request. */
  token: string | (() => string | Promise<string>);
  /** This saver's writer id for the per-thread lease; one per instance unless given. */
  writer?: string;
  fetch?: typeof fetch;
  serde?: SerializerProtocol;
}

/** A refusal of the checkpoint API (RFC 9457 problem): `code` is e.g. checkpoint_lease_conflict. */
export class CheckpointApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

/**
 * A LangGraph checkpointer that keeps its checkpoints in this API (/api/v1/agent/checkpoints):
 * values are serialized here with `serde` and travel base64, so the server never decodes them.
 * Plain fetch and @langchain/langgraph-checkpoint only: it runs in Node, Deno, browsers and Workers.
 */
export class HttpCheckpointSaver extends BaseCheckpointSaver {
  readonly writer: string;
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: HttpSaverOptions) {
    super(options.serde);
    this.writer = options.writer ?? crypto.randomUUID();
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return this.fetcher(`${this.options.baseUrl.replace(/\/$/, "")}/api/v1/agent${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  private async ok(response: Response, allowNotFound = false): Promise<Response | undefined> {
    if (response.ok) return response;
    const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
    if (allowNotFound && response.status === 404 && problem.code === "not_found") return undefined;
    throw new CheckpointApiError(response.status, problem.code ?? "http_error", problem.detail ?? response.statusText);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    if (!hasThread(config)) return undefined;
    const { threadId, checkpointNs, checkpointId } = target(config);
    const query = new URLSearchParams({ checkpointNs });
    if (checkpointId) query.set("checkpointId", checkpointId);
    const response = await this.ok(await this.request("GET", `/checkpoints/threads/${encodeURIComponent(threadId)}/tuple?${query}`), true);
    return response && loadTuple(this.serde, (await response.json()) as WireTuple, this.getNextVersion(undefined));
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = config.configurable ?? {};
    const query = new URLSearchParams();
    if (c.thread_id) query.set("threadId", c.thread_id);
    if (typeof c.checkpoint_ns === "string") query.set("checkpointNs", c.checkpoint_ns);
    if (c.checkpoint_id) query.set("checkpointId", c.checkpoint_id);
    if (options.filter && Object.keys(options.filter).length) query.set("metadata", JSON.stringify(await dumpMetadata(this.serde, options.filter)));
    if (options.before?.configurable?.checkpoint_id) query.set("before", options.before.configurable.checkpoint_id);
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    const response = (await this.ok(await this.request("GET", `/checkpoints?${query}`)))!;
    const { items } = (await response.json()) as { items: WireTuple[] };
    for (const item of items) yield loadTuple(this.serde, item, this.getNextVersion(undefined));
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const { threadId, body } = await dumpPut(this.serde, this.writer, config, checkpoint, metadata, newVersions);
    await this.ok(await this.request("POST", `/checkpoints/threads/${encodeURIComponent(threadId)}/checkpoints`, body));
    return { configurable: { thread_id: threadId, checkpoint_ns: body.checkpointNs, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    if (!writes.length) return;
    const { threadId, body } = await dumpWrites(this.serde, this.writer, config, writes, taskId, taskPath);
    await this.ok(await this.request("POST", `/checkpoints/threads/${encodeURIComponent(threadId)}/writes`, body));
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.ok(await this.request("DELETE", `/checkpoints/threads/${encodeURIComponent(threadId)}`), true);
  }
}
