import { createRouter } from "../platform/router";
import { defineParts } from "../platform/system";
import { auditRoutes } from "./audit.routes";
import { meRoutes } from "./me.routes";
import { tenantRoutes } from "./tenants.routes";
import { userRoutes } from "./users.routes";

/** Every factory route, under /api/v1/factory. */
const router = createRouter();
router.route("/", meRoutes).route("/", tenantRoutes).route("/", userRoutes).route("/", auditRoutes);

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,
});
