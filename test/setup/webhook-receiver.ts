import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A Standard Webhooks receiver (standardwebhooks.com) for the factory's alarm notifications: it
 * verifies every delivery on its own (Node's HMAC, not the Worker's code) over the exact body
 * bytes with the run's secret, refuses a timestamp more than five minutes off, and records each
 * delivery with the verdict. Paths name the test's hook: `/hooks/<name>` answers 204 to a valid
 * delivery, `/hooks/fail-<name>` always 500, `/hooks/flaky-<name>` 500 the first time then 204.
 * GET `/__deliveries/<name>` lists what the hook received.
 */

const TOLERANCE_SECONDS = 300;

export interface Delivery {
  path: string;
  id: string | null;
  timestamp: string | null;
  verified: boolean;
  reason: string | null;
  status: number;
  body: unknown;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The verdict on one delivery: null when valid, else why not. */
export function verifyStandardWebhook(secret: string, headers: IncomingMessage["headers"], body: Buffer, nowSeconds = Math.floor(Date.now() / 1000)): string | null {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return "missing webhook-id, webhook-timestamp or webhook-signature";
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return "timestamp outside the tolerance";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  const ok = signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || !signature) return false;
    const given = Buffer.from(signature, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? null : "no v1 signature matches";
}

export async function startWebhookReceiver() {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const deliveries: Delivery[] = [];
  const attempts = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const send = (status: number, body?: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(body === undefined ? undefined : JSON.stringify(body));
    const listed = /^\/__deliveries\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && listed) return send(200, deliveries.filter((d) => d.path === `/hooks/${decodeURIComponent(listed[1]!)}`));
    if (req.method !== "POST" || !url.pathname.startsWith("/hooks/")) return send(404, { error: "not found" });
    const raw = await readBody(req);
    const reason = verifyStandardWebhook(secret, req.headers, raw);
    const name = url.pathname.slice("/hooks/".length);
    const seen = (attempts.get(url.pathname) ?? 0) + 1;
    attempts.set(url.pathname, seen);
    const status = reason ? 401 : name.startsWith("fail-") || (name.startsWith("flaky-") && seen === 1) ? 500 : 204;
    let body: unknown = null;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      body = raw.toString("utf8");
    }
    deliveries.push({
      path: url.pathname,
      id: (req.headers["webhook-id"] as string | undefined) ?? null,
      timestamp: (req.headers["webhook-timestamp"] as string | undefined) ?? null,
      verified: reason === null,
      reason,
      status,
      body,
    });
    return send(status);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secret,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
