import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The tests' one Standard Webhooks receiver (standardwebhooks.com): the factory's alarm
 * notifications and workflow ACTION nodes both deliver here. It verifies every delivery on its own
 * (Node's HMAC, not the Worker's code) with src/platform/standard-webhooks.ts's rules: a whsec_
 * secret, HMAC-SHA256 over `id.timestamp.body` of the exact body bytes, a space-separated list of
 * `v1,<base64>` signatures, a timestamp at most five minutes off. Each delivery is recorded with
 * the verdict.
 *
 * `POST /hooks/<name>`, where `<name>` is `<key>` or `<answer>-<key>`: a valid delivery is answered
 * 200 `{ received: true, attempt }` (attempt = deliveries to that path so far); `fail-` always 500;
 * `flaky-` 500 for the first `?failures=N` deliveries (default 1), then 200; `limited-` 429;
 * `slow-` 200 after 5 s. An unsigned or badly signed delivery is answered 401 (and recorded).
 * `GET /__deliveries/<key>` lists every delivery to a hook of that key, whatever its answer, in
 * arrival order.
 */

const TOLERANCE_SECONDS = 300;
const ANSWERS = /^(fail|flaky|limited|slow)-(.+)$/;

export interface Delivery {
  path: string;
  id: string | null;
  timestamp: string | null;
  verified: boolean;
  reason: string | null;
  status: number;
  body: unknown;
  /** When it arrived (ms since the epoch). */
  at: number;
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

/** A hook name's answer and key. */
const hookOf = (name: string) => {
  const m = ANSWERS.exec(name);
  return m ? { answer: m[1]!, key: m[2]! } : { answer: "ok", key: name };
};

export async function startWebhookReceiver() {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const deliveries: (Delivery & { key: string })[] = [];
  const attempts = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const send = (status: number, body?: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(body === undefined ? undefined : JSON.stringify(body));
    const listed = /^\/__deliveries\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && listed) {
      const key = hookOf(decodeURIComponent(listed[1]!)).key;
      return send(200, deliveries.filter((d) => d.key === key).map(({ key: _, ...d }) => d));
    }
    if (!["POST", "PUT", "PATCH"].includes(req.method ?? "") || !url.pathname.startsWith("/hooks/")) return send(404, { error: "not found" });
    const raw = await readBody(req);
    const reason = verifyStandardWebhook(secret, req.headers, raw);
    const { answer, key } = hookOf(decodeURIComponent(url.pathname.slice("/hooks/".length)));
    const seen = (attempts.get(url.pathname) ?? 0) + 1;
    attempts.set(url.pathname, seen);
    const failures = Number(url.searchParams.get("failures") ?? 1);
    const status = reason ? 401 : answer === "fail" || (answer === "flaky" && seen <= failures) ? 500 : answer === "limited" ? 429 : 200;
    let body: unknown = null;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      body = raw.toString("utf8");
    }
    deliveries.push({ key, path: url.pathname, id: (req.headers["webhook-id"] as string | undefined) ?? null, timestamp: (req.headers["webhook-timestamp"] as string | undefined) ?? null, verified: reason === null, reason, status, body, at: Date.now() });
    const answerBody = status === 200 ? { received: true, attempt: seen } : { error: reason ?? answer };
    if (answer === "slow" && status === 200) return void setTimeout(() => send(status, answerBody), 5000);
    return send(status, answerBody);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secret,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
