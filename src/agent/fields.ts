import { z } from "@hono/zod-openapi";

/**
 * A language code (KOR, en, en-US): letters first, so the session hash's `language` field is
 * never text that the Redis client would read back as a JSON number or literal.
 */
export const Language = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,6})?$/, "must be a language code such as KOR or en-US").max(10);
