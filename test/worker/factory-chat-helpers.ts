import { expect } from "vitest";
import { runAs } from "../../src/platform/db";
import { judgmentExecutions } from "../../src/factory/schema";
import { as, db, type FactoryUser } from "./factory-helpers";
import { call } from "./helpers";

/** The configured LLM switched off for one call: the chat classifies by its rules. */
export const LLM_OFF = { FACTORY_LLM_BASE_URL: undefined };

export async function openSession(user: FactoryUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await call("POST", "/api/v1/factory/chat/sessions", { token: user.bearer, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** Sends a message; `llm: false` turns the configured LLM off for the call. */
export const say = (user: FactoryUser, sessionId: string, content: string, options: { llm?: boolean; stream?: boolean } = {}) =>
  call("POST", "/api/v1/factory/chat/messages", { token: user.bearer, body: { sessionId, content, ...(options.stream ? { stream: true } : {}) }, env: options.llm === false ? LLM_OFF : undefined });

/** A judgment row of the tenant, written test-side as its admin, `daysAgo` days before now. */
export async function seedJudgment(admin: FactoryUser, j: { line: string; metrics: Record<string, number>; result: "normal" | "warning" | "critical"; daysAgo?: number; explanation?: string }): Promise<string> {
  const [rows] = await runAs(db, as(admin.tenantId, admin.userId), [
    db
      .insert(judgmentExecutions)
      .values({
        tenantId: admin.tenantId,
        source: "api",
        inputData: { line_code: j.line, metrics: j.metrics },
        result: j.result,
        confidence: 0.9,
        methodUsed: "rule_only",
        explanation: j.explanation ?? `${j.line} ${j.result}`,
        traceId: crypto.randomUUID(),
        createdAt: new Date(Date.now() - (j.daysAgo ?? 0) * 86_400_000),
      })
      .returning({ id: judgmentExecutions.id }),
  ] as const);
  return rows[0]!.id;
}

/** YYYY-MM-DD of UTC today plus `offset` days (the test tenants have no time zone: UTC). */
export const utcDay = (offset = 0) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** The events of a text/event-stream body. */
export function parseSse(text: string): { event: string; id: string | null; data: any }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split("\n")) {
        const at = line.indexOf(":");
        const name = line.slice(0, at);
        fields.set(name, (fields.has(name) ? `${fields.get(name)}\n` : "") + line.slice(at + 1).replace(/^ /, ""));
      }
      return { event: fields.get("event") ?? "message", id: fields.get("id") ?? null, data: JSON.parse(fields.get("data") ?? "null") };
    });
}
