import type { BatchItem } from "drizzle-orm/batch";
import type { Principal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { resolveMapping, type RuntimeVariables } from "./workflow-paths";
import type { NodeContext } from "./workflow-nodes/types";

/**
 * The request id of one node's work: its database (and the judgment node's Redis) calls carry it,
 * so logs and the test stack's round-trip counters name the instance and node.
 */
export const nodeRequestId = (instanceId: string, nodeId: string) => `wf-${instanceId}-${nodeId}`;

/** What a node's context is made of: the instance's identity, the node, its variables and deadline. */
export type NodeScope = Pick<NodeContext, "tenantId" | "actorUserId" | "workflowId" | "instanceId" | "nodeId" | "traceId" | "signal"> & { variables: RuntimeVariables };

/**
 * The instance's actor as row-level security sees them: the user and tenant, no token roles (the
 * factory reads the user's role from users, as for a bearer token). With no actor the batch runs
 * as no user of the tenant, so factory.authorize() refuses it.
 */
export const actorPrincipal = (tenantId: string, actorUserId: string | null): Principal => ({ userId: actorUserId ?? "", tenantId, roles: [], permissions: [] });

/**
 * The NodeContext a handler runs with, for the engine and for tests alike: everything it reads or
 * writes is the instance's tenant's, as its actor, under the node's own request id.
 */
export function nodeContextFor(env: Bindings, scope: NodeScope): NodeContext {
  const { db } = backgroundDatabase(env, "workflow-node", nodeRequestId(scope.instanceId, scope.nodeId));
  const principal = actorPrincipal(scope.tenantId, scope.actorUserId);
  return {
    env,
    db,
    run: <T extends readonly BatchItem<"pg">[]>(statements: T) => runAs(db, principal, statements),
    tenantId: scope.tenantId,
    actorUserId: scope.actorUserId,
    workflowId: scope.workflowId,
    instanceId: scope.instanceId,
    nodeId: scope.nodeId,
    traceId: scope.traceId,
    resolve: (mapping) => resolveMapping(mapping, scope.variables),
    signal: scope.signal,
  };
}
