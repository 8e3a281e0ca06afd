import { servicePrincipal } from "../platform/auth";
import type { Bindings } from "../platform/context";
import { backgroundDatabase, runAs } from "../platform/db";
import { claimDeliveries, recordTransitions, writeDeliveries, type ClaimedDelivery, type DeliveryOutcome } from "./monitor-sql";
import { MONITORS } from "./monitors";
import { NotificationConfig } from "./notification-config";
import { signedWebhookHeaders } from "./standard-webhooks";

/** The alarm job's service identity (role `service`, which tokens can never carry). */
const ALARM_PRINCIPAL = servicePrincipal("a9e47000-0000-4000-8000-00000000a1a3");

/** Deliveries one run sends at most; the rest wait for the next minutes. */
const BATCH = 50;
/** Sends at once: a Worker invocation holds at most six open connections. */
const PARALLEL = 6;
/** How long a receiver has to answer. */
const SEND_TIMEOUT_MS = 5000;
/** A claim outlives any send of its run; a run that dies leaves its deliveries to the next run after this. */
const LEASE_SECONDS = 120;
/** Attempts per delivery, 1, 2, 4 and 8 minutes apart; then it stays `failed`. */
export const MAX_DELIVERY_ATTEMPTS = 5;
const BACKOFF_SECONDS = 60;

const WINDOWS = Object.fromEntries(MONITORS.map((m) => [m.name, m.window]));

/** The webhook's JSON (Standard Webhooks' `type`, `timestamp`, `data`), from the event row. */
export function alarmPayload(d: ClaimedDelivery): string {
  return JSON.stringify({
    type: `factory.monitor.${d.transition}`,
    timestamp: new Date(d.occurred_at).toISOString(),
    data: {
      event_id: d.id,
      tenant_id: d.tenant_id,
      tenant: d.tenant_name,
      monitor: d.monitor,
      transition: d.transition,
      state: d.transition === "raised" ? "alarm" : "ok",
      value: d.value,
      threshold: d.threshold,
      window: WINDOWS[d.monitor] ?? null,
      window_start: d.window_start ? new Date(d.window_start).toISOString() : null,
    },
  });
}

/** One signed POST; the outcome names the status or the failure, never the secret or the receiver's text. */
async function deliver(d: ClaimedDelivery): Promise<DeliveryOutcome> {
  const outcome = (ok: boolean, error: string | null): DeliveryOutcome => ({ id: d.id, claimed: d.claimed, ok, error });
  const config = NotificationConfig.safeParse(d.notification ?? {});
  if (!config.success) return outcome(false, `settings.notification_config.${config.error.issues[0]?.path.join(".")}: ${config.error.issues[0]?.message}`);
  const { webhook_url: url, webhook_secret: secret, webhook_enabled: enabled } = config.data;
  if (!url || !secret || enabled === false) return outcome(false, "settings.notification_config: no webhook_url and webhook_secret, or webhook_enabled is false");
  const body = alarmPayload(d);
  try {
    const headers = await signedWebhookHeaders(secret, d.id, body);
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? outcome(true, null) : outcome(false, `the receiver answered HTTP ${response.status}`);
  } catch (err) {
    const name = (err as { name?: string }).name;
    return outcome(false, name === "TimeoutError" || name === "AbortError" ? `no answer within ${SEND_TIMEOUT_MS} ms` : "the receiver could not be reached");
  }
}

/**
 * Every minute (docs/factory-monitoring.md, "Alarms"): evaluates every active tenant's monitors and
 * records each transition once, and claims the deliveries that are due (one Postgres round trip,
 * one transaction: this run's own transitions are among them), posts each as a signed Standard
 * Webhook to the tenant's notification_config.webhook_url, six at a time, and writes the outcomes
 * (a second round trip, only when something was sent).
 */
export async function evaluateAlarms(env: Bindings): Promise<Record<string, unknown>> {
  const { db } = backgroundDatabase(env, "job-factory-monitor-alarms");
  const [transitions, claimed] = await runAs(db, ALARM_PRINCIPAL, [recordTransitions(db), claimDeliveries(db, BATCH, LEASE_SECONDS)] as const);
  const due = claimed.rows;
  const outcomes: DeliveryOutcome[] = [];
  for (let i = 0; i < due.length; i += PARALLEL) outcomes.push(...(await Promise.all(due.slice(i, i + PARALLEL).map(deliver))));
  const report = {
    raised: transitions.rows.filter((t) => t.transition === "raised").length,
    cleared: transitions.rows.filter((t) => t.transition === "cleared").length,
    sent: outcomes.length,
    delivered: outcomes.filter((o) => o.ok).length,
  };
  if (!outcomes.length) return report;
  await runAs(db, ALARM_PRINCIPAL, [writeDeliveries(db, outcomes, MAX_DELIVERY_ATTEMPTS, BACKOFF_SECONDS)] as const);
  return report;
}
