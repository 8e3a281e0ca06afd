import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { importPKCS8, SignJWT, type JWTPayload } from "jose";
import worker from "../../functions/worker";
import { OpenApiTruth, type OpenApiDocument } from "./openapi-truth";

type Env = Record<string, string | undefined>;
export const testEnv = env as unknown as Env;

let rsaKey: Promise<CryptoKey> | undefined;

/** A valid RS256 token for `sub` signed with the run's key; `claims` and `opts` bend it for negative cases. */
export async function token(
  claims: JWTPayload & Record<string, unknown> = {},
  opts: { expiresIn?: string | number; omit?: string[] } = {},
): Promise<string> {
  rsaKey ??= importPKCS8(testEnv.TEST_RSA_PRIVATE_KEY as string, "RS256");
  const payload: JWTPayload = { sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE, ...claims };
  for (const claim of opts.omit ?? []) delete (payload as Record<string, unknown>)[claim];
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT" }).setIssuedAt();
  if (!opts.omit?.includes("exp")) jwt.setExpirationTime(opts.expiresIn ?? "5m");
  return jwt.sign(await rsaKey);
}

export function userId(): string {
  return crypto.randomUUID();
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  /** Bindings to replace for this call (a separate env object: its own parsed config). */
  env?: Env;
}

/**
 * What a call answered. `body` is typed by the caller (`call<Session>(…)`); its shape is checked at
 * run time against /openapi.json whatever the type says (see OpenApiTruth).
 */
export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  requestId: string;
}

let truth: Promise<OpenApiTruth> | undefined;

/** The document of the all-in-one Worker, read once per test file. */
async function openApiTruth(): Promise<OpenApiTruth> {
  truth ??= (async () => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request("https://api.test/openapi.json"), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    return new OpenApiTruth((await response.json()) as OpenApiDocument);
  })();
  return truth;
}

/**
 * Calls the Worker's fetch handler (inside workerd) and waits for its background work. Every
 * answer is checked against /openapi.json: an undocumented status or a body that does not match
 * its documented schema fails the test that made the call.
 */
export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const requestId = `test-${crypto.randomUUID()}`;
  const headers: Record<string, string> = { "X-Request-Id": requestId, ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const ctx = createExecutionContext();
  const callEnv = options.env ? { ...testEnv, ...options.env } : testEnv;
  const response = await worker.fetch(new Request(`https://api.test${path}`, { method, headers, body }), callEnv as never, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  const type = response.headers.get("Content-Type") ?? "";
  const parsed: unknown = type.includes("json") && text ? JSON.parse(text) : text;
  const mismatch = (await openApiTruth()).mismatch(method, new URL(path, "https://api.test").pathname, response.status, type, parsed);
  if (mismatch) throw new Error(`the response contradicts /openapi.json: ${mismatch}`);
  return {
    status: response.status,
    headers: response.headers,
    body: parsed as T,
    requestId: response.headers.get("X-Request-Id") ?? requestId,
  };
}

/** How many requests reached the local Neon and Upstash endpoints for one API call. */
export async function roundTrips(requestId: string): Promise<{ neon: number; upstash: number }> {
  const response = await fetch(`${testEnv.TEST_STACK_URL}/__roundtrips/${encodeURIComponent(requestId)}`);
  return response.json();
}

export interface StackCall {
  protocol: "neon" | "upstash";
  command: string;
  start: number;
  end: number;
}

/** The order in which one API call's requests reached and left the local endpoints (no clock: event positions). */
export async function callTimeline(requestId: string): Promise<{ maxInFlight: number; calls: StackCall[] }> {
  const response = await fetch(`${testEnv.TEST_STACK_URL}/__calls/${encodeURIComponent(requestId)}`);
  return response.json();
}

/**
 * Makes every Postgres and Redis call of requests whose id starts with `requestIdPrefix` wait
 * this long at the local endpoints, so calls that can overlap visibly do.
 */
export async function injectLatency(requestIdPrefix: string, latency: { neon: number; upstash: number }): Promise<void> {
  const response = await fetch(`${testEnv.TEST_STACK_URL}/__latency/${encodeURIComponent(requestIdPrefix)}`, { method: "PUT", body: JSON.stringify(latency) });
  if (response.status !== 204) throw new Error(`latency not injected: ${response.status} ${await response.text()}`);
}

export function expectProblem(result: CallResult, status: number, code: string) {
  if (result.status !== status || result.body?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${result.status} ${JSON.stringify(result.body)}`);
  }
  if (!(result.headers.get("Content-Type") ?? "").startsWith("application/problem+json")) {
    throw new Error(`expected application/problem+json, got ${result.headers.get("Content-Type")}`);
  }
  if (result.body.status !== status || !result.body.type || !result.body.title || !result.body.detail || !result.body.requestId) {
    throw new Error(`incomplete problem body: ${JSON.stringify(result.body)}`);
  }
}

/** An address where nothing listens: stands in for a Postgres or Redis that is down. */
export const DEAD_ENDPOINT = "http://127.0.0.1:9";
