import { createRouter } from "../platform/router";
import { defineParts, EVERY_MINUTE } from "../platform/system";
import { auditRoutes } from "./audit.routes";
import { checkConnectorHealth } from "./connector-health";
import { connectorQueryRoutes } from "./connector-query.routes";
import { connectorRoutes } from "./connectors.routes";
import { meRoutes } from "./me.routes";
import { tenantRoutes } from "./tenants.routes";
import { userRoutes } from "./users.routes";

/** Every factory route, under /api/v1/factory. */
const router = createRouter();
router
  .route("/", meRoutes)
  .route("/", tenantRoutes)
  .route("/", userRoutes)
  .route("/", auditRoutes)
  .route("/", connectorRoutes)
  .route("/", connectorQueryRoutes);

/** The factory system's parts (src/factory/index.ts loads them on first use). */
export const parts = defineParts({
  router,
  jobs: {
    /** §9.1: data connectors' status, last_health_check_at and last_health_status (docs/factory-connectors.md). */
    [EVERY_MINUTE]: [checkConnectorHealth],
  },
});
