import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { createRedis } from "../platform/redis";
import { forgetSessions } from "./session-cache";
import { expireSessions } from "./session-sql";

/** The agent jobs' service identity (role `service`, which tokens can never carry). */
export const SERVICE_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000f002");

/** Sessions one run expires at most; a backlog drains over the following minutes. */
const EXPIRE_BATCH = 1000;

/**
 * Every minute: active sessions past expires_at become expired (one statement, one round trip),
 * and their §8.1 hashes are deleted so the next read loads the new status.
 */
export async function expireDueSessions(env: Bindings): Promise<Record<string, unknown>> {
  const { db, config, requestId } = backgroundDatabase(env, "job-agent-expire-sessions");
  const [expired] = await runAs(db, SERVICE_PRINCIPAL, [expireSessions(db, EXPIRE_BATCH)] as const);
  const ids = expired.map((row) => row.id);
  await forgetSessions(createRedis(config, requestId), config, ids);
  return { expired: ids.length };
}
