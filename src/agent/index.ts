import { createRouter } from "../platform/router";

/** Agent orchestration (spec 002), under /api/v1/agent: its routes arrive with its issue. */
export const agentRouter = createRouter();
