import { z } from "@hono/zod-openapi";
import { CronError, isTimeZone, parseCron } from "./cron";
import { TRIGGER_TYPES } from "./schema";

/**
 * A workflow's trigger_config (§3.1; docs/factory-workflows.md, "Triggers"): how its instances
 * start. Checked on write and stored normalised (enabled and, for a schedule, timezone filled
 * in), so the jobs that fire triggers read one shape.
 */

export { TRIGGER_TYPES };
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** Factory events a workflow may start on. */
export const TRIGGER_EVENTS = ["judgment.completed", "judgment.critical", "workflow.failed", "workflow.completed"] as const;

const Scalar = z.union([z.string().max(500), z.number(), z.boolean(), z.null()]);

export const EventFilter = z
  .object({
    event: z.enum(TRIGGER_EVENTS),
    where: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "must be a field of the event's data, dotted for nesting"), z.union([Scalar, z.array(Scalar).min(1).max(50)]))
      .optional()
      .openapi({ description: "Each field (dotted path into the event's data) must equal the value, or one of the values when a list" }),
  })
  .strict()
  .openapi("FactoryWorkflowEventFilter");
export type EventFilter = z.infer<typeof EventFilter>;

export const TriggerConfig = z
  .object({
    type: z.enum(TRIGGER_TYPES),
    enabled: z.boolean().optional().openapi({ description: "Default true; a disabled schedule, webhook or event trigger starts nothing" }),
    timezone: z.string().min(1).max(64).optional().openapi({ description: "IANA time zone of the cron (schedule only); default UTC" }),
    cron: z.string().min(1).max(120).optional().openapi({ description: "5-field cron expression (schedule only), e.g. `0 */2 * * *`" }),
    event_filter: EventFilter.optional().openapi({ description: "Which events start the workflow (event only)" }),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .openapi("FactoryWorkflowTriggerConfig", { description: "How instances start. Absent: manual" });
export type TriggerConfig = z.infer<typeof TriggerConfig>;

/** A trigger_config as stored: enabled always given, timezone for a schedule. */
export interface StoredTrigger extends TriggerConfig {
  enabled: boolean;
}

export interface TriggerFault {
  /** Pointer inside the trigger config. */
  pointer: string;
  message: string;
}

/** The config checked across its members and normalised, or its faults. */
export function checkTriggerConfig(config: TriggerConfig | null | undefined): { ok: true; trigger: StoredTrigger } | { ok: false; faults: TriggerFault[] } {
  const t = config ?? { type: "manual" };
  const faults: TriggerFault[] = [];
  const only = (member: "cron" | "timezone" | "event_filter", type: TriggerType) => {
    if (t[member] !== undefined && t.type !== type) faults.push({ pointer: `/${member}`, message: `belongs to a ${type} trigger, not ${t.type}` });
  };
  only("cron", "schedule");
  only("timezone", "schedule");
  only("event_filter", "event");
  if (t.type === "schedule") {
    if (t.cron === undefined) faults.push({ pointer: "/cron", message: "a schedule needs a cron expression" });
    else {
      try {
        parseCron(t.cron);
      } catch (err) {
        if (!(err instanceof CronError)) throw err;
        faults.push({ pointer: "/cron", message: err.message });
      }
    }
    if (t.timezone !== undefined && !isTimeZone(t.timezone)) faults.push({ pointer: "/timezone", message: `'${t.timezone}' is no IANA time zone` });
  }
  if (t.type === "event" && t.event_filter === undefined) faults.push({ pointer: "/event_filter", message: "an event trigger needs event_filter {event, where?}" });
  if (faults.length) return { ok: false, faults };
  return { ok: true, trigger: { ...t, enabled: t.enabled ?? true, ...(t.type === "schedule" ? { timezone: t.timezone ?? "UTC" } : {}) } };
}

/** A factory event as triggers see it: its type and its data. */
export interface FactoryEvent {
  event: string;
  data: Record<string, unknown>;
}

function fieldOf(data: Record<string, unknown>, path: string): unknown {
  let v: unknown = data;
  for (const key of path.split(".")) {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Whether an event starts a workflow with this filter: same event, and every `where` field equal to its value (or one of its values). */
export function eventMatches(filter: EventFilter, event: FactoryEvent): boolean {
  if (filter.event !== event.event) return false;
  return Object.entries(filter.where ?? {}).every(([path, expected]) => {
    const actual = fieldOf(event.data, path);
    if (actual === undefined) return false;
    return Array.isArray(expected) ? expected.some((e) => e === actual) : expected === actual;
  });
}
