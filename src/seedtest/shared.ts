import { z } from "@hono/zod-openapi";
import type { Principal } from "../platform/auth";

/**
 * The caller's id as the seedtest tables store it (their user/teacher columns are TEXT): the
 * canonical lowercase UUID, which is also what the RLS helper seedtest.caller_id() compares with.
 */
export const callerId = (principal: Principal) => principal.userId.toLowerCase();

/** User and teacher ids are user ids (src/platform/user-id.ts): UUIDs, stored lowercase. */
export const UserId = z.uuid().transform((s) => s.toLowerCase());
