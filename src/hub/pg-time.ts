/**
 * The hub's timestamps are the document's TIMESTAMP without time zone, holding UTC (spec 004
 * §1.1). Drizzle reads and writes them as UTC Dates; raw SQL (jobs, reports, batch ingest, the
 * archive function) takes them as this text.
 */

/** Postgres TIMESTAMP text (UTC) of an ISO instant. */
export const toPgTimestamp = (iso: string | Date) => new Date(iso).toISOString().replace("T", " ").replace("Z", "");
