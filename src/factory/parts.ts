import { createRouter } from "../platform/router";
import { defineParts } from "../platform/system";

/** Every factory route, under /api/v1/factory: none until its issue arrives. */
const router = createRouter();

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,

});
