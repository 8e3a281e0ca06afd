import { createRouter } from "../platform/router";

/** AI-factory judgment platform (spec 003), under /api/v1/factory: its routes arrive with its issue. */
export const factoryRouter = createRouter();
