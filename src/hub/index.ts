import { createRouter } from "../platform/router";

/** Student hub (spec 004), under /api/v1/hub: its routes arrive with its issue. */
export const hubRouter = createRouter();
