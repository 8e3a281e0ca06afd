import { z } from "@hono/zod-openapi";
import type { Principal } from "../platform/auth";
import { JsonObject } from "../platform/input";
import { CursorParam, DateKey, ExactTimeKey, Limit } from "../platform/paging";
import { fieldError } from "../platform/problem";

/**
 * The caller's id as the seedtest tables store it (their user/teacher columns are TEXT): the
 * canonical lowercase UUID, which is also what the RLS helper seedtest.caller_id() compares with.
 */
export const callerId = (principal: Principal) => principal.userId.toLowerCase();

/** User and teacher ids are user ids (src/platform/user-id.ts): UUIDs, stored lowercase. */
export const UserId = z.uuid().transform((s) => s.toLowerCase());

/** Client-visible text keys (classroom, session, topic ids). */
export const TextId = z.string().min(1).max(128);

export const Metadata = JsonObject.openapi({ description: "Free-form JSON object" });

export const IsoDate = z.iso.date().refine((d) => d >= "2000-01-01" && d <= "2100-12-31", "must be between 2000-01-01 and 2100-12-31");

export const PageQuery = { limit: Limit, cursor: CursorParam };

export function page<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({ items: z.array(item), nextCursor: z.string().nullable().openapi({ description: "Pass as cursor for the next page; null on the last" }) })
    .openapi(name);
}

/** Seedtest cursors: newest first by an exact timestamp then a text id; features by date, topic, user. */
export const TimeKey = z.tuple([ExactTimeKey, TextId]);
export const FeaturesKey = z.tuple([DateKey, TextId, TextId]);

/** Rejects a time or date range whose end lies before its start. */
export function checkRange(from: string | undefined, to: string | undefined) {
  if (from !== undefined && to !== undefined && Date.parse(to) < Date.parse(from)) throw fieldError("query.to", "must not be before from");
}
