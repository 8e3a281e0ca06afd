import { createRouter } from "../platform/router";
import { defineParts } from "../platform/system";
import { meRoutes } from "./me.routes";

/** Every factory route, under /api/v1/factory. */
const router = createRouter();
router.route("/", meRoutes);

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,
});
