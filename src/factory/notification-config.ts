import { z } from "zod";
import { WEBHOOK_SECRET_PATTERN } from "../platform/standard-webhooks";
import { KEPT_SECRET } from "./tenant-secrets";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** https://, or http:// on loopback. Zod runs refinements even after z.url() failed: a string that is no URL passes here, z.url() has reported it. */
function httpsOrLoopback(u: string): boolean {
  if (!URL.canParse(u)) return true;
  const url = new URL(u);
  return url.protocol === "https:" || LOOPBACK.has(url.hostname);
}

/**
 * tenants.settings.notification_config (§2.1). `webhook_url` and `webhook_secret` are this
 * project's additions: where alarm transitions are posted as signed Standard Webhooks
 * (docs/factory-monitoring.md). Other members (§2.1's email_enabled, slack_webhook_url) are kept.
 */
export const NotificationConfig = z
  .object({
    webhook_enabled: z.boolean(),
    webhook_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .refine(httpsOrLoopback, "must be https:// (http:// only on loopback)"),
    // KEPT_SECRET: a client sending back the settings it read keeps the stored secret (tenant-secrets.ts).
    webhook_secret: z.union([z.literal(KEPT_SECRET), z.string().regex(WEBHOOK_SECRET_PATTERN, "must be whsec_ followed by the base64 of 24 to 64 random bytes")]),
    email_enabled: z.boolean(),
    slack_webhook_url: z.url({ protocol: /^https$/ }).max(2048),
  })
  .partial()
  .catchall(z.unknown());
export type NotificationConfig = z.infer<typeof NotificationConfig>;
