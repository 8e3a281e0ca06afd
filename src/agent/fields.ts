import { z } from "@hono/zod-openapi";

/**
 * A language code (KOR, en, en-US): letters first, so the session hash's `language` field is
 * never text that the Redis client would read back as a JSON number or literal.
 */
export const Language = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,6})?$/, "must be a language code such as KOR or en-US").max(10);

/**
 * Tool names are the middle of `exec_cache:{tool_name}:{input_hash}`: no colon (one tool's prefix
 * would cover another's keys) and no glob characters, so invalidation by prefix is exact.
 */
export const ToolName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "must be 1–100 letters, digits, _ . or -");
