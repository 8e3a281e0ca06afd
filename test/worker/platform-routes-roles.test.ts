import { describe, expect, it } from "vitest";
import { call, token, type CallResult } from "./helpers";
import { spoofedRoleSets } from "./platform-spoofed-roles";

/**
 * Every operation of /openapi.json against every role, as the "Roles" sections of docs/exam.md,
 * docs/hub.md, docs/seedtest.md, docs/agent.md and docs/factory.md describe them. Paths carry made-up ids, so "not refused" means
 * anything but 403 (404 and 422 included) and never a 5xx; "refused" means 403 problem+json.
 */

/** The role a token holds; `none` is a token without roles (a learner, as any caller is). */
const ROLES = ["none", "learner", "reviewer", "proctor", "admin", "teacher", "student", "manager", "viewer", "operator", "platform_operator", "service"] as const;
type Role = (typeof ROLES)[number];

/** Tokens carrying `service`, the jobs' identity, are refused on every route (src/platform/middleware.ts). */
const ALWAYS_REFUSED: Role[] = ["service"];

const NO_HUB_ROLE: Role[] = ["none", "learner", "reviewer", "proctor", "manager", "viewer", "operator", "platform_operator"];
const HUB_READ = NO_HUB_ROLE;
const HUB_WRITE: Role[] = [...NO_HUB_ROLE, "student"];
const HUB_ADMIN: Role[] = [...HUB_WRITE, "teacher"];
const all = (...allowed: Role[]) => ROLES.filter((r) => !allowed.includes(r) && r !== "service");

/** The org of every token here: a teacher's school (hub) and org (seedtest, a decimal integer). */
const TENANT = String(100_000 + Math.floor(Math.random() * 2_000_000_000));

interface Case {
  refused: Role[];
  query?: string;
  body?: unknown;
}

/** Which roles each route refuses; a route of /openapi.json missing here fails the suite. */
const MATRIX: Record<string, Case> = {
  "GET /api/v1/me": { refused: [] },

  "GET /api/v1/exam/profile": { refused: [] },
  "PUT /api/v1/exam/profile": { refused: [], body: { level: "BASIC", examDate: "2027-06-01", targetType: "PASS_FIRST" } },
  "GET /api/v1/exam/mistakes": { refused: [] },
  "GET /api/v1/exam/analytics/summary": { refused: all("admin") },
  "POST /api/v1/exam/plans": { refused: [], body: {} },
  "GET /api/v1/exam/plans": { refused: [] },
  "GET /api/v1/exam/plans/{id}": { refused: [] },
  "GET /api/v1/exam/plans/{id}/tasks": { refused: [] },
  "PATCH /api/v1/exam/plans/{id}/tasks/{taskId}": { refused: [], body: { status: "DONE" } },
  "POST /api/v1/exam/plans/{id}/replan": { refused: [] },
  "POST /api/v1/exam/sessions": {
    refused: [],
    body: { labId: crypto.randomUUID(), policyId: crypto.randomUUID(), level: "BASIC", engineType: "GUI", mode: "PRACTICE" },
  },
  // Another user's sessions: staff only.
  "GET /api/v1/exam/sessions": { refused: all("reviewer", "proctor", "admin"), query: `userId=${crypto.randomUUID()}` },
  "GET /api/v1/exam/sessions/{id}": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/start": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/pause": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/resume": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/submit": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/review": { refused: all("reviewer", "admin") },
  "POST /api/v1/exam/sessions/{id}/close": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/force-close": { refused: all("proctor", "admin") },
  "POST /api/v1/exam/sessions/{id}/steps/{stepNo}/submissions": { refused: [], body: { result: "PASS", score: 1, runtimeMs: 1 } },
  "GET /api/v1/exam/sessions/{id}/submissions": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/cells": { refused: [], body: { cellId: "c1", runtimeMs: 1 } },
  "GET /api/v1/exam/runtime-config": { refused: [] },
  "POST /api/v1/exam/sessions/{id}/policy-events": { refused: [], body: { action: "FOCUS_LOST" } },
  "GET /api/v1/exam/audit/policy-events": { refused: all("proctor", "admin") },

  // Creating classrooms: admins, and teachers in their own org.
  "POST /api/v1/seedtest/classrooms": { refused: all("admin", "teacher"), body: { name: "matrix", orgId: Number(TENANT) } },
  "GET /api/v1/seedtest/classrooms": { refused: [] },
  "GET /api/v1/seedtest/classrooms/{classroomId}": { refused: [] },
  "PATCH /api/v1/seedtest/classrooms/{classroomId}": { refused: [], body: { name: "renamed" } },
  "DELETE /api/v1/seedtest/classrooms/{classroomId}": { refused: [] },
  "POST /api/v1/seedtest/sessions": { refused: [], body: { classroomId: null } },
  "GET /api/v1/seedtest/sessions": { refused: [] },
  "POST /api/v1/seedtest/sessions/{sessionId}/end": { refused: [], body: {} },
  "GET /api/v1/seedtest/sessions/{sessionId}": { refused: [] },
  "PUT /api/v1/seedtest/interest-goals/{topicId}": { refused: [], body: { interestLevel: 0.5 } },
  "GET /api/v1/seedtest/interest-goals": { refused: [] },
  // Features are computed: admins (and the daily job) write them.
  "PUT /api/v1/seedtest/features/{userId}/{topicId}/{date}": { refused: all("admin"), body: { features: {} } },
  "GET /api/v1/seedtest/features": { refused: [] },

  "POST /api/v1/hub/students": { refused: HUB_WRITE, body: { name: "Matrix", schoolId: TENANT, grade: 1 } },
  "GET /api/v1/hub/students": { refused: HUB_READ },
  "GET /api/v1/hub/students/{id}": { refused: HUB_READ },
  "PATCH /api/v1/hub/students/{id}": { refused: HUB_WRITE, body: { grade: 2 } },
  "DELETE /api/v1/hub/students/{id}": { refused: HUB_WRITE },
  "POST /api/v1/hub/students/{id}/events": {
    refused: HUB_WRITE,
    body: { events: [{ eventId: crypto.randomUUID(), eventType: "study", sourceNode: 1, sourceId: "m", content: {}, occurredAt: new Date().toISOString() }] },
  },
  "GET /api/v1/hub/students/{id}/events": { refused: HUB_READ },
  "GET /api/v1/hub/archive/students/{id}/events": { refused: HUB_ADMIN },
  "POST /api/v1/hub/students/{id}/interventions": {
    refused: HUB_WRITE,
    body: { type: "teacher_requested", weakAreas: [{ concept: "x" }], learningPath: [{ step: 1, activity: "a" }] },
  },
  "GET /api/v1/hub/students/{id}/interventions": { refused: HUB_READ },
  "POST /api/v1/hub/students/{id}/interventions/auto": { refused: HUB_WRITE, body: {} },
  "GET /api/v1/hub/interventions/{id}": { refused: HUB_READ },
  "PATCH /api/v1/hub/interventions/{id}/progress": { refused: HUB_WRITE, body: { completed: 1 } },
  "POST /api/v1/hub/interventions/{id}/status": { refused: HUB_WRITE, body: { status: "paused" } },
  "POST /api/v1/hub/tasks": {
    refused: HUB_WRITE,
    body: { studentId: crypto.randomUUID(), taskType: "daily_report", scheduleType: "cron", cronExpression: "0 9 * * *" },
  },
  "GET /api/v1/hub/tasks": { refused: HUB_READ },
  "GET /api/v1/hub/tasks/{id}": { refused: HUB_READ },
  "PATCH /api/v1/hub/tasks/{id}": { refused: HUB_WRITE, body: { status: "paused" } },
  "DELETE /api/v1/hub/tasks/{id}": { refused: HUB_WRITE },
  "GET /api/v1/hub/tasks/{id}/runs": { refused: HUB_READ },
  "GET /api/v1/hub/tasks/{id}/runs/{runId}": { refused: HUB_READ },

  // Agent (docs/agent.md, "Roles"): TENANT is no organization id here, so allowed callers get 404/409.
  "POST /api/v1/agent/organizations": { refused: all("operator"), body: { name: "Matrix org" } },
  "GET /api/v1/agent/organizations/{id}": { refused: [] },
  "PATCH /api/v1/agent/organizations/{id}": { refused: all("admin", "operator"), body: { name: "Renamed" } },
  "POST /api/v1/agent/users": { refused: all("admin"), body: { id: crypto.randomUUID(), email: "matrix@agent.test" } },
  "GET /api/v1/agent/users": { refused: [] },
  "POST /api/v1/agent/users/me": { refused: [], body: {} },
  "GET /api/v1/agent/users/me": { refused: [] },
  "GET /api/v1/agent/users/{id}": { refused: [] },
  "PATCH /api/v1/agent/users/{id}": { refused: all("admin"), body: { role: "viewer" } },
  "POST /api/v1/agent/users/me/api-key": { refused: [] },
  "DELETE /api/v1/agent/users/me/api-key": { refused: [] },
  "POST /api/v1/agent/sessions": { refused: ["viewer"], body: {} },
  "GET /api/v1/agent/sessions": { refused: [] },
  "GET /api/v1/agent/sessions/{id}": { refused: [] },
  "PATCH /api/v1/agent/sessions/{id}/context": { refused: ["viewer"], body: { step: 1 } },
  "POST /api/v1/agent/sessions/{id}/complete": { refused: ["viewer"] },
  // LangGraph checkpoints: any caller, on its own threads only (docs/agent.md, "LangGraph checkpoints").
  "POST /api/v1/agent/checkpoints/threads/{threadId}/checkpoints": {
    refused: [],
    body: { writer: "matrix", checkpointId: "c1", checkpoint: { v: 4, id: "c1", ts: "2026-11-20T00:00:00Z", channel_versions: {}, versions_seen: {} } },
  },
  "POST /api/v1/agent/checkpoints/threads/{threadId}/writes": {
    refused: [],
    body: { writer: "matrix", checkpointId: "c1", taskId: "t1", writes: [{ idx: 0, channel: "c", type: "json", blob: "MQ==" }] },
  },
  "GET /api/v1/agent/checkpoints/threads/{threadId}/tuple": { refused: [] },
  "GET /api/v1/agent/checkpoints": { refused: [] },
  "DELETE /api/v1/agent/checkpoints/threads/{threadId}": { refused: [] },
  // Tools: admins manage their organization's, operators the shared ones (docs/agent.md, "Tools and the execution cache").
  "POST /api/v1/agent/tools": { refused: all("admin", "operator"), body: { name: "matrix_tool", type: "data", layer: "data", executorClass: "x" } },
  "GET /api/v1/agent/tools": { refused: [] },
  "GET /api/v1/agent/tools/{id}": { refused: [] },
  "PATCH /api/v1/agent/tools/{id}": { refused: all("admin", "operator"), body: { description: "x" } },
  "POST /api/v1/agent/tools/{id}/deactivate": { refused: all("admin", "operator") },
  "POST /api/v1/agent/tool-executions": { refused: ["viewer"], body: { toolName: "matrix_tool", success: true, startedAt: "2026-11-20T00:00:00Z" } },
  "GET /api/v1/agent/tool-executions": { refused: [] },
  "POST /api/v1/agent/exec-cache/lookup": { refused: [], body: { toolName: "matrix_tool", params: {} } },
  "POST /api/v1/agent/exec-cache": { refused: ["viewer"], body: { toolName: "matrix_tool", params: {}, result: { resultData: 1, executionTimeMs: 1 } } },
  // Usage: the report is the organization's admins'; the quota figures are every member's.
  "GET /api/v1/agent/usage": { refused: all("admin"), query: "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z" },
  "GET /api/v1/agent/usage/quota": { refused: [] },
  // Feedback: members but viewers give it, everyone lists their own, managers and admins see a plan's figures.
  "POST /api/v1/agent/feedback": { refused: ["viewer"], body: { sessionId: crypto.randomUUID(), rating: 4, feedbackType: "result_quality" } },
  "GET /api/v1/agent/feedback": { refused: [] },
  "GET /api/v1/agent/feedback/plans/{planId}": { refused: all("admin", "manager") },
  // Plans (docs/agent.md, "Plans and versions"): viewers read; managers and admins approve.
  "POST /api/v1/agent/sessions/{id}/plans": { refused: ["viewer"], body: { todos: [{ key: "a", title: "a", layer: "data" }] } },
  "GET /api/v1/agent/plans/{id}": { refused: [] },
  "PUT /api/v1/agent/plans/{id}/todos": { refused: ["viewer"], body: { changeType: "replan", todos: [{ key: "a", title: "a", layer: "data" }] } },
  "GET /api/v1/agent/plans/{id}/versions": { refused: [] },
  "GET /api/v1/agent/plans/{id}/versions/diff": { refused: [], query: "from=1&to=2" },
  "POST /api/v1/agent/plans/{id}/approve": { refused: all("admin", "manager") },
  "POST /api/v1/agent/plans/{id}/start": { refused: ["viewer"] },
  "POST /api/v1/agent/plans/{id}/pause": { refused: ["viewer"] },
  "POST /api/v1/agent/plans/{id}/resume": { refused: ["viewer"] },
  "POST /api/v1/agent/plans/{id}/cancel": { refused: ["viewer"] },
  "POST /api/v1/agent/plans/{id}/claim": { refused: ["viewer"], body: { limit: 1 } },
  "POST /api/v1/agent/todos/{id}/progress": { refused: ["viewer"], body: { progress: 50 } },
  "POST /api/v1/agent/todos/{id}/complete": { refused: ["viewer"], body: {} },
  "POST /api/v1/agent/todos/{id}/fail": { refused: ["viewer"], body: { errorMessage: "boom" } },
  "POST /api/v1/agent/todos/{id}/skip": { refused: ["viewer"] },
  "POST /api/v1/agent/todos/{id}/cancel": { refused: ["viewer"] },
  "POST /api/v1/agent/todos/{id}/approve": { refused: all("admin", "manager") },
  "POST /api/v1/agent/todos/{id}/reject": { refused: all("admin", "manager"), body: { reason: "no" } },
  // Human in the loop: anyone reads; writers open and answer (managers answer plan_review and approval_request, checked per event).
  "GET /api/v1/agent/sessions/{id}/events": { refused: [] },
  "POST /api/v1/agent/plans/{id}/events": { refused: ["viewer"], body: { type: "pause" } },
  "POST /api/v1/agent/todos/{id}/input-request": { refused: ["viewer"], body: { question: "which?" } },
  "POST /api/v1/agent/events/{id}/respond": { refused: ["viewer"], body: { decision: "approve" } },

  // Factory (docs/factory.md, "Permissions"): roles come from users rows, not tokens, and TENANT
  // is no factory tenant, so every tenant route refuses every token here (403 tenant_unknown);
  // test/worker/factory-roles.test.ts walks the real matrix.
  "GET /api/v1/factory/me": { refused: all() },
  "POST /api/v1/factory/judgments/execute": { refused: all(), body: { inputData: { line_code: "L01" }, method: "llm_only" } },
  "GET /api/v1/factory/judgments": { refused: all() },
  "GET /api/v1/factory/judgments/{id}": { refused: all() },
  "POST /api/v1/factory/judgments/{id}/feedback": { refused: all(), body: { feedbackType: "correct" } },
  "POST /api/v1/factory/prompts": { refused: all(), body: { name: "p", purpose: "p", templateType: "judgment", bodies: [{ systemPrompt: "s", userPromptTemplate: "u" }] } },
  "GET /api/v1/factory/prompts": { refused: all() },
  "GET /api/v1/factory/prompts/{id}": { refused: all() },
  "POST /api/v1/factory/prompts/{id}/activate": { refused: all() },
  "POST /api/v1/factory/prompts/{id}/render": { refused: all(), body: { variables: {} } },
  // Rules (docs/factory-rules.md): each route's permission is checked against the users row, so here every one is refused.
  "POST /api/v1/factory/rules/rulesets": { refused: all(), body: { name: "matrix", targetKpi: "defect_rate" } },
  "GET /api/v1/factory/rules/rulesets": { refused: all() },
  "GET /api/v1/factory/rules/rulesets/{id}": { refused: all() },
  "PATCH /api/v1/factory/rules/rulesets/{id}": { refused: all(), body: { priority: 1 } },
  "DELETE /api/v1/factory/rules/rulesets/{id}": { refused: all() },
  "POST /api/v1/factory/rules/rulesets/{id}/scripts": { refused: all(), body: { script: "fn judge(metrics) { 1 }" } },
  "GET /api/v1/factory/rules/rulesets/{id}/scripts": { refused: all() },
  "GET /api/v1/factory/rules/rulesets/{id}/scripts/{version}": { refused: all() },
  "POST /api/v1/factory/rules/rulesets/{id}/scripts/{version}/test": { refused: all(), body: { input: {} } },
  "POST /api/v1/factory/rules/rulesets/{id}/deploy": { refused: all(), body: { version: 1, changelog: "matrix" } },
  "GET /api/v1/factory/rules/deployments": { refused: all() },
  "GET /api/v1/factory/rules/deployments/{id}": { refused: all() },
  "POST /api/v1/factory/rules/deployments/{id}/approve": { refused: all() },
  "POST /api/v1/factory/rules/deployments/{id}/promote": { refused: all() },
  "POST /api/v1/factory/rules/deployments/{id}/rollback": { refused: all() },
  "POST /api/v1/factory/rules/deployments/{id}/deprecate": { refused: all() },
  "GET /api/v1/factory/rules/conflicts": { refused: all() },
  "GET /api/v1/factory/rules/conflicts/{id}": { refused: all() },
  "PATCH /api/v1/factory/rules/conflicts/{id}": { refused: all(), body: { resolutionStatus: "resolved" } },
  "GET /api/v1/factory/tenant": { refused: all() },
  "PATCH /api/v1/factory/tenant": { refused: all(), body: { displayName: "Matrix" } },
  "POST /api/v1/factory/users": { refused: all(), body: { subject: "matrix", email: "matrix@factory.test", username: "matrix", role: "viewer" } },
  "GET /api/v1/factory/users": { refused: all() },
  "GET /api/v1/factory/users/{id}": { refused: all() },
  "PATCH /api/v1/factory/users/{id}": { refused: all(), body: { role: "viewer" } },
  "POST /api/v1/factory/users/{id}/lock": { refused: all() },
  "GET /api/v1/factory/audit-logs": { refused: all() },
  // Workflow execution (docs/factory-workflows.md, "Execution"): workflow:* and approval:decide of the users row, so here every one is refused.
  "POST /api/v1/factory/workflows/{id}/execute": { refused: all(), body: { input: {} } },
  "GET /api/v1/factory/workflows/{id}/instances": { refused: all() },
  "GET /api/v1/factory/workflows/instances/{instanceId}": { refused: all() },
  "POST /api/v1/factory/workflows/instances/{instanceId}/pause": { refused: all() },
  "POST /api/v1/factory/workflows/instances/{instanceId}/resume": { refused: all() },
  "POST /api/v1/factory/workflows/instances/{instanceId}/cancel": { refused: all() },
  "POST /api/v1/factory/workflows/instances/{instanceId}/approval": { refused: all(), body: { decision: "approve" } },
  // Tenants are the platform operator's (a token role above tenants).
  "POST /api/v1/factory/platform/tenants": {
    refused: all("platform_operator"),
    body: { name: `matrix-${TENANT}`, displayName: "Matrix", admin: { subject: crypto.randomUUID(), email: "admin@factory.test", username: "admin" } },
  },
  "GET /api/v1/factory/platform/tenants": { refused: all("platform_operator") },
  "GET /api/v1/factory/platform/tenants/{id}": { refused: all("platform_operator") },
  "PATCH /api/v1/factory/platform/tenants/{id}": { refused: all("platform_operator"), body: { maxUsers: 20 } },
  "POST /api/v1/factory/platform/tenants/{id}/suspend": { refused: all("platform_operator") },
  "POST /api/v1/factory/platform/tenants/{id}/activate": { refused: all("platform_operator") },
  // Data connectors (docs/factory-connectors.md): connector:* permissions of the users row, so here every one is refused.
  "POST /api/v1/factory/connectors": { refused: all(), body: { name: "matrix", type: "graphql", config: { endpoint: "http://127.0.0.1:9/graphql" } } },
  "GET /api/v1/factory/connectors": { refused: all() },
  "GET /api/v1/factory/connectors/{id}": { refused: all() },
  "PATCH /api/v1/factory/connectors/{id}": { refused: all(), body: { name: "matrix" } },
  "DELETE /api/v1/factory/connectors/{id}": { refused: all() },
  "POST /api/v1/factory/connectors/{id}/query": { refused: all(), body: { query: "select 1" } },
  // MCP servers (docs/factory-mcp.md): mcp:* permissions of the users row, so here every one is refused.
  "POST /api/v1/factory/mcp/servers": { refused: all(), body: { name: "matrix", endpoint: "http://127.0.0.1:9/mcp", protocol: "sse" } },
  "GET /api/v1/factory/mcp/servers": { refused: all() },
  "GET /api/v1/factory/mcp/servers/{id}": { refused: all() },
  "PATCH /api/v1/factory/mcp/servers/{id}": { refused: all(), body: { name: "matrix" } },
  "DELETE /api/v1/factory/mcp/servers/{id}": { refused: all() },
  "POST /api/v1/factory/mcp/servers/{id}/discover": { refused: all() },
  "GET /api/v1/factory/mcp/servers/{id}/tools": { refused: all() },
  "PATCH /api/v1/factory/mcp/tools/{id}": { refused: all(), body: { isEnabled: false } },
  "POST /api/v1/factory/mcp/tools/{id}/call": { refused: all(), body: { arguments: {} } },
  "GET /api/v1/factory/mcp/tools/{id}/calls": { refused: all() },
  // Monitoring (docs/factory-monitoring.md): monitoring:read of the users row, so here every one is refused.
  "GET /api/v1/factory/monitoring": { refused: all() },
  "GET /api/v1/factory/metrics": { refused: all() },
  // Workflow definitions (docs/factory-workflows.md): workflow:* permissions of the users row, so here every one is refused.
  "GET /api/v1/factory/workflows/dsl-schema": { refused: all() },
  "POST /api/v1/factory/workflows": { refused: all(), body: { name: "matrix", dsl: { name: "matrix", nodes: [{ id: "a", type: "WAIT", config: { seconds: 1 } }] } } },
  "GET /api/v1/factory/workflows": { refused: all() },
  "GET /api/v1/factory/workflows/{id}": { refused: all() },
  "DELETE /api/v1/factory/workflows/{id}": { refused: all() },
  "POST /api/v1/factory/workflows/{id}/versions": { refused: all(), body: { dsl: { name: "matrix", nodes: [{ id: "a", type: "WAIT", config: { seconds: 1 } }] } } },
  "GET /api/v1/factory/workflows/{id}/versions": { refused: all() },
  "POST /api/v1/factory/workflows/{id}/activate": { refused: all() },
  "POST /api/v1/factory/workflows/{id}/deactivate": { refused: all() },
  "POST /api/v1/factory/workflows/{id}/webhook-secret/rotate": { refused: all() },
  // Learning (docs/factory-learning.md): learning:* and rule:approve of the users row, so here every one is refused.
  "GET /api/v1/factory/learning/samples": { refused: all() },
  "POST /api/v1/factory/learning/samples": { refused: all(), body: { inputFeatures: { metrics: { defect_rate: 0.1 } }, label: { result: "critical" } } },
  "POST /api/v1/factory/learning/samples/import": { refused: all(), body: { input_features: {}, label: { result: "normal" } } },
  "POST /api/v1/factory/learning/samples/{id}/validate": { refused: all(), body: {} },
  "POST /api/v1/factory/learning/auto-rules": { refused: all(), body: { rulesetId: crypto.randomUUID(), method: "pattern_mining" } },
  "GET /api/v1/factory/learning/auto-rules": { refused: all() },
  "GET /api/v1/factory/learning/auto-rules/{id}": { refused: all() },
  "POST /api/v1/factory/learning/auto-rules/{id}/approve": { refused: all() },
  "POST /api/v1/factory/learning/auto-rules/{id}/reject": { refused: all(), body: { reason: "matrix" } },
  "POST /api/v1/factory/learning/training-jobs": { refused: all(), body: { jobType: "embedding_update", trainingConfig: {} } },
  "GET /api/v1/factory/learning/training-jobs": { refused: all() },
  "GET /api/v1/factory/learning/training-jobs/{id}": { refused: all() },
  "POST /api/v1/factory/learning/training-jobs/{id}/cancel": { refused: all() },
  // Chat (docs/factory-chat.md): chat:* permissions of the users row, so here every one is refused.
  "POST /api/v1/factory/chat/sessions": { refused: all(), body: { title: "matrix" } },
  "GET /api/v1/factory/chat/sessions": { refused: all() },
  "GET /api/v1/factory/chat/sessions/{id}": { refused: all() },
  "PATCH /api/v1/factory/chat/sessions/{id}": { refused: all(), body: { title: "matrix" } },
  "DELETE /api/v1/factory/chat/sessions/{id}": { refused: all() },
  "GET /api/v1/factory/chat/sessions/{id}/messages": { refused: all() },
  "POST /api/v1/factory/chat/messages": { refused: all(), body: { sessionId: crypto.randomUUID(), content: "L01 불량률 어때?" } },
  "POST /api/v1/factory/chat/intents/{id}/feedback": { refused: all(), body: { feedbackScore: 5 } },
};

interface Operation {
  key: string;
  method: string;
  path: string;
  params: { name: string; in: string; schema?: Record<string, unknown> }[];
  hasBody: boolean;
}

/** A value the path parameter's schema accepts, naming nothing that exists. */
function madeUp(schema: Record<string, unknown> = {}): string {
  if (schema.format === "uuid") return crypto.randomUUID();
  if (schema.format === "date") return "2026-11-20";
  if (schema.type === "integer") return String(schema.minimum ?? 1);
  return `matrix-${crypto.randomUUID().slice(0, 8)}`;
}

async function operations(): Promise<Operation[]> {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(res.body.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!["get", "put", "post", "patch", "delete"].includes(method)) continue;
      // A signed route (x-authentication: the training callback, workflow webhook hooks) takes no token, so no role: platform-routes-auth lists and checks them.
      if (op["x-authentication"]) continue;
      ops.push({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, params: op.parameters ?? [], hasBody: Boolean(op.requestBody) });
    }
  }
  return ops;
}

/** One request for the operation, with made-up path ids and the table's query and body. */
function request(op: Operation, bearer: string): Promise<CallResult> {
  const c = MATRIX[op.key]!;
  let path = op.path;
  for (const p of op.params.filter((p) => p.in === "path")) path = path.replace(`{${p.name}}`, encodeURIComponent(madeUp(p.schema)));
  return call(op.method, c.query ? `${path}?${c.query}` : path, { token: bearer, body: op.hasBody ? c.body : undefined });
}

/**
 * Each token's requests, in the order of the operations: a token's own writes (a profile, a
 * session) then shape its later reads the same way for every token. Tokens run side by side.
 */
function perToken<K>(ops: Operation[], tokens: (readonly [K, string])[]): Promise<{ key: K; op: Operation; res: CallResult }[][]> {
  return Promise.all(
    tokens.map(async ([key, bearer]) => {
      const out: { key: K; op: Operation; res: CallResult }[] = [];
      for (const op of ops) out.push({ key, op, res: await request(op, bearer) });
      return out;
    }),
  );
}

/** A token per role with its own sub (the test rate limit counts per user). */
const roleToken = (role: Role) => token({ roles: role === "none" ? [] : [role], tenant_id: TENANT });

const outcome = (res: CallResult) => `${res.status}${res.body?.code ? ` ${res.body.code}` : ""}`;

// The two walks below grow with every route (each role's or spoofed token's requests run in turn),
// past the default 30 s on a loaded machine: they get their own timeout.
describe("role matrix over /openapi.json", () => {
  it("covers every operation /openapi.json lists, and nothing else", async () => {
    const listed = (await operations()).map((op) => op.key);
    console.log(`role matrix: ${listed.length} operations in /openapi.json`);
    expect(listed.filter((key) => !(key in MATRIX)), "operations the matrix does not cover").toEqual([]);
    expect(Object.keys(MATRIX).filter((key) => !listed.includes(key)), "matrix rows for no operation").toEqual([]);
    for (const op of await operations()) {
      if (op.hasBody) expect(MATRIX[op.key]!.body, `${op.key} needs a minimal valid body`).toBeDefined();
    }
  });

  it("refuses exactly the roles the docs refuse, on every operation", async () => {
    const ops = (await operations()).filter((op) => op.key in MATRIX);
    const tokens = await Promise.all(ROLES.map(async (role) => [role, await roleToken(role)] as const));
    const wrong: string[] = [];
    for (const { key: role, op, res } of (await perToken(ops, tokens)).flat()) {
      const refused = [...ALWAYS_REFUSED, ...MATRIX[op.key]!.refused].includes(role);
      const problem = (res.headers.get("Content-Type") ?? "").startsWith("application/problem+json");
      const ok = refused ? res.status === 403 && problem : res.status !== 403 && res.status !== 401 && res.status < 500;
      if (!ok) wrong.push(`${op.key} as ${role}: expected ${refused ? "403" : "not refused"}, got ${outcome(res)}`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it("answers tokens with spoofed roles exactly as a token without roles, on every operation", async () => {
    const ops = (await operations()).filter((op) => op.key in MATRIX);
    const tokens = await Promise.all([
      ["without roles", await roleToken("none")] as const,
      ...spoofedRoleSets().map(async ({ kind, roles }) => [kind, await token({ roles, tenant_id: TENANT })] as const),
    ]);
    const [baseline, ...spoofed] = await perToken(ops, tokens);
    const expected = baseline!.map(({ res }) => outcome(res));
    const differing = spoofed.flatMap((results) =>
      results.flatMap(({ key, op, res }, i) => (outcome(res) === expected[i] ? [] : [`${op.key} (${key}): ${outcome(res)}, without roles ${expected[i]}`])),
    );
    expect(differing).toEqual([]);
    expect(spoofed).toHaveLength(spoofedRoleSets().length);
  }, 120_000);
});
