import { createRouter } from "../platform/router";

/** Learning-analytics tables (spec 001), under /api/v1/seedtest: its routes arrive with its issue. */
export const seedtestRouter = createRouter();
