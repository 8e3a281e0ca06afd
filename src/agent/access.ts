import { defineRoute } from "../platform/route";
import { hasRole, type Principal } from "../platform/auth";
import { ApiError } from "../platform/problem";
import { USER_ROLES } from "./schema";

export type AgentRole = (typeof USER_ROLES)[number];

/** Creates organizations (platform staff); a token role, never a users.role. */
export const OPERATOR_ROLE = "operator";

/**
 * The caller's role inside the agent system (docs/agent.md, "Roles"): the highest of admin >
 * manager > user > viewer among the principal's roles, `user` when it holds none of them. A
 * token's roles are the identity provider's; an API key's principal carries its user's
 * users.role. agent.caller_role() (migration 0010) computes the same in Postgres.
 */
export function agentRole(p: Principal): AgentRole {
  return USER_ROLES.find((role) => hasRole(p, role)) ?? "user";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The caller's organization: the tenant_id when it is a UUID, as agent.caller_org() reads it. */
export function callerOrg(p: Principal): string | null {
  return p.tenantId && UUID.test(p.tenantId) ? p.tenantId.toLowerCase() : null;
}

/** 403 unless the caller's agent role is one of `roles`. */
export function requireAgentRole(p: Principal, roles: readonly AgentRole[], action: string): void {
  const role = agentRole(p);
  if (!roles.includes(role)) {
    throw new ApiError(403, "agent_role_required", `a ${role} may not ${action}; it takes ${roles.join(" or ")}`, { role });
  }
}

/** Everyone but viewers: viewers only read. */
export const WRITERS: readonly AgentRole[] = ["admin", "manager", "user"];

/** The caller has no active user in the organization its token names (POST /users/me, or an admin, provisions one). */
export const notProvisioned = (p: Principal) =>
  new ApiError(409, "user_not_provisioned", `user ${p.userId} is not an active user of organization ${callerOrg(p) ?? p.tenantId ?? "(none)"}`, {
    userId: p.userId,
  });

/** defineRoute() for agent routes: bearer tokens and this system's API keys both authenticate. */
export const agentRoute: typeof defineRoute = (config, ...errors) =>
  defineRoute({ ...config, security: [{ bearerAuth: [] }, { apiKeyAuth: [] }] }, ...errors);
