import type { BatchItem } from "drizzle-orm/batch";
import type { Bindings } from "../../platform/context";
import type { Database } from "../../platform/db";

/**
 * The interface between the workflow engine and one node type's handler (the workflow contract):
 * a handler is a plain async function, testable on its own in workerd; the engine wraps it in a
 * durable step with the node's timeout and retry policy and writes its execution log.
 */

type Results<T extends readonly BatchItem<"pg">[]> = { [K in keyof T]: Awaited<T[K]> };

export interface NodeContext {
  /** The Worker's bindings. */
  env: Bindings;
  /** neon-http Drizzle for the instance. */
  db: Database;
  /** Runs a batch as the instance's actor (identity and row-level security): one round trip. */
  run: <T extends readonly BatchItem<"pg">[]>(statements: T) => Promise<Results<T>>;
  tenantId: string;
  actorUserId: string | null;
  workflowId: string;
  instanceId: string;
  nodeId: string;
  traceId: string;
  /** `$.` paths against the runtime variables. */
  resolve: (mapping: unknown) => unknown;
  /** Aborts at the node's timeout. */
  signal: AbortSignal;
}

export type NodeHandler = (ctx: NodeContext, config: Record<string, unknown>) => Promise<unknown>;
