import { sql, type SQL } from "drizzle-orm";
import type { Database } from "../platform/db";
import type { CIRCUIT_STATES } from "./schema";

/**
 * The circuit breaker of each MCP server, kept in mcp_servers (circuit_breaker_state, fail_count,
 * circuit_changed_at) so every isolate and every workflow sees the same one. Each change is one
 * conditional UPDATE on the server's row, so concurrent calls serialise on its row lock:
 *
 * - closed: calls go through; a counted failure adds one to fail_count and the one that reaches
 *   config.circuit_breaker.failure_threshold (default 5) opens the breaker; a success resets it.
 * - open: calls are refused without contacting the server (503 circuit_open) until
 *   cooldown_seconds (default 30) have passed since it opened.
 * - half_open: the first call after the cool-down moves open to half_open and is the one trial
 *   call; others are refused meanwhile. Its success closes the breaker, its failure opens it
 *   again for another cool-down. A trial that never reports back (its Worker died) is presumed
 *   lost once a cool-down has passed, and the next call is the trial.
 */

export type CircuitState = (typeof CIRCUIT_STATES)[number];

const cooldown = sql`make_interval(secs => coalesce((s.config -> 'circuit_breaker' ->> 'cooldown_seconds')::float8, 30))`;
const threshold = sql`coalesce((s.config -> 'circuit_breaker' ->> 'failure_threshold')::int, 5)`;

export type CallTarget = {
  tool_id: string;
  tool_name: string;
  input_schema: Record<string, unknown>;
  is_enabled: boolean;
  server_id: string;
  tenant_id: string;
  protocol: "stdio" | "sse" | "websocket";
  endpoint: string;
  config: Record<string, unknown>;
  sealed_auth: string | null;
  state: CircuitState;
  fail_count: number;
  /** This call moved the breaker to half_open and is its trial. */
  trial: boolean;
  /** Seconds until an open breaker lets a trial through. */
  retry_after: number;
};

/**
 * The tool to call, its server and the breaker's verdict, in one statement: an open breaker whose
 * cool-down has passed (or a half-open one whose trial is presumed lost) becomes half_open, and
 * this call is its trial. Row-level security limits both tables to the caller's tenant.
 */
export function callTarget(db: Database, tool: { toolId: string } | { serverId: string; name: string }) {
  const where: SQL = "toolId" in tool ? sql`t.id = ${tool.toolId}::uuid` : sql`t.mcp_server_id = ${tool.serverId}::uuid and t.tool_name = ${tool.name}`;
  return db.execute<CallTarget>(sql`
    with target as (
      select t.id as tool_id, t.tool_name, t.input_schema, t.is_enabled, s.id as server_id, s.tenant_id, s.protocol, s.endpoint, s.config,
             s.auth_config ->> 'sealed' as sealed_auth, s.circuit_breaker_state as state, s.fail_count,
             greatest(0, ceil(extract(epoch from (coalesce(s.circuit_changed_at, now()) + ${cooldown} - now()))))::int as retry_after
      from factory.mcp_tools t join factory.mcp_servers s on s.id = t.mcp_server_id
      where ${where}
    ),
    trial as (
      update factory.mcp_servers s set circuit_breaker_state = 'half_open', circuit_changed_at = now()
      from target
      where s.id = target.server_id and target.is_enabled
        and s.circuit_breaker_state in ('open', 'half_open') and s.circuit_changed_at <= now() - ${cooldown}
      returning s.id
    )
    select target.*, exists (select 1 from trial) as trial from target`);
}

/** What a call's outcome does to the breaker: a success, a counted failure, or nothing (the server answered, e.g. a JSON-RPC error). */
export type BreakerEffect = "success" | "failure" | "none";

/** The breaker after one call, in one UPDATE of the server's row (as a CTE of the caller's statement). */
export function breakerUpdate(serverId: string, effect: BreakerEffect): SQL {
  if (effect === "none") return sql`select s.circuit_breaker_state, s.fail_count from factory.mcp_servers s where s.id = ${serverId}::uuid`;
  const next =
    effect === "success"
      ? sql`case when s.circuit_breaker_state = 'half_open' then 'closed' else s.circuit_breaker_state end`
      : sql`case when s.circuit_breaker_state = 'half_open' then 'open'
                 when s.circuit_breaker_state = 'closed' and s.fail_count + 1 >= ${threshold} then 'open'
                 else s.circuit_breaker_state end`;
  // A late success of a call that began before the breaker opened leaves an open breaker alone.
  const failCount = effect === "success" ? sql`case when s.circuit_breaker_state = 'open' then s.fail_count else 0 end` : sql`s.fail_count + 1`;
  return sql`
    update factory.mcp_servers s
    set circuit_breaker_state = ${next},
        fail_count = ${failCount},
        circuit_changed_at = case when ${next} <> s.circuit_breaker_state then now() else s.circuit_changed_at end,
        status = case when ${next} = 'open' then 'error' when ${next} = 'closed' then 'active' else s.status end
    where s.id = ${serverId}::uuid
    returning s.circuit_breaker_state, s.fail_count`;
}
