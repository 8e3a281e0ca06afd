import { createRouter } from "../platform/router";

/** Every factory route, under /api/v1/factory: none until its issue arrives. */
export const router = createRouter();
