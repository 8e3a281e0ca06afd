import { createRouter } from "../platform/router";

/** Every agent route, under /api/v1/agent: none until its issue arrives. */
export const router = createRouter();
