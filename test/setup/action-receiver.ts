import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The receiver of workflow ACTION calls in tests: a real HTTP server that verifies each call's
 * Standard Webhooks signature (webhook-id, webhook-timestamp within 5 minutes, webhook-signature
 * v1 HMAC-SHA256 under the run's whsec_ secret) and records it. Paths choose the answer:
 * /ok/<key> 200; /flaky/<key> 503 twice, then 200; /fail/<key> 500; /limited/<key> 429;
 * /slow/<key> answers after 5 s. GET /calls/<key> lists the calls of a key in arrival order,
 * each with `verified`; an unsigned or badly signed call is answered 401 and recorded too.
 */

interface Call {
  path: string;
  verified: boolean;
  webhookId: string | null;
  body: unknown;
  at: number;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });

function verify(secret: string, req: IncomingMessage, body: string): boolean {
  const id = req.headers["webhook-id"];
  const ts = req.headers["webhook-timestamp"];
  const sig = req.headers["webhook-signature"];
  if (typeof id !== "string" || typeof ts !== "string" || typeof sig !== "string") return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest();
  return sig.split(" ").some((part) => {
    const [version, value] = part.split(",");
    if (version !== "v1" || !value) return false;
    const given = Buffer.from(value, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startActionReceiver(secret: string) {
  const calls = new Map<string, Call[]>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const [, kind, key = ""] = url.pathname.split("/");
    if (req.method === "GET" && kind === "calls") {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(calls.get(key) ?? []));
      return;
    }
    const text = await readBody(req);
    const verified = verify(secret, req, text);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // recorded as text
    }
    const list = calls.get(key) ?? [];
    list.push({ path: url.pathname, verified, webhookId: (req.headers["webhook-id"] as string) ?? null, body, at: Date.now() });
    calls.set(key, list);
    const answer = (status: number, payload: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(payload));
    if (!verified) return answer(401, { error: "bad signature" });
    if (kind === "ok") return answer(200, { received: true, attempt: list.length });
    if (kind === "flaky") return list.length < 3 ? answer(503, { error: "try again" }) : answer(200, { received: true, attempt: list.length });
    if (kind === "fail") return answer(500, { error: "broken" });
    if (kind === "limited") return answer(429, { error: "slow down" });
    if (kind === "slow") return void setTimeout(() => answer(200, { received: true }), 5000);
    answer(404, { error: "no such path" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
