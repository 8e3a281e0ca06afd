import { sql, type SQL } from "drizzle-orm";
import type { DateSpec } from "./chat-intents";

/**
 * Relative dates resolved inside the turn's statement, in the tenant's time zone
 * (settings.timezone when Postgres accepts the name, else UTC), so no round trip is spent
 * reading it first. Weeks start on Monday; a range is whole days, both ends included.
 */

/** The tenant's time zone name (factory.zone_or_utc(), migration 0022): a CTE body (`zone(tz)`). */
export const tenantZone = sql`select factory.zone_or_utc((select t.settings->>'timezone' from factory.tenants t where t.id = factory.caller_tenant())) as tz`;

/** When nothing is said: the last seven days, today included. */
export const DEFAULT_PERIOD: DateSpec = { unit: "day", from: -6, to: 0 };

const ISO = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `d` is a real calendar date Postgres takes (2025-02-30 is not, nor year 0000, which it has no such year). */
export const isCalendarDate = (d: string) => ISO.test(d) && !d.startsWith("0000") && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);

/** The first and last day of `spec` as SQL dates, given `today` (a SQL date expression). */
export function periodSql(spec: DateSpec, today: SQL): { start: SQL; end: SQL } {
  if ("start" in spec) return { start: sql`${spec.start}::date`, end: sql`${spec.end}::date` };
  const { from, to } = spec;
  switch (spec.unit) {
    case "day":
      return { start: sql`(${today} + ${from}::int)`, end: sql`(${today} + ${to}::int)` };
    case "week":
      return { start: sql`(date_trunc('week', ${today})::date + 7 * ${from}::int)`, end: sql`(date_trunc('week', ${today})::date + 7 * ${to}::int + 6)` };
    case "month":
      return {
        start: sql`(date_trunc('month', ${today}) + ${from}::int * interval '1 month')::date`,
        end: sql`((date_trunc('month', ${today}) + (${to}::int + 1) * interval '1 month')::date - 1)`,
      };
  }
}
