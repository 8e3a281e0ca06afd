import { SYSTEMS } from "../src/systems";
import { createWorker } from "./create-worker";

/** The all-in-one Worker: every system; ENABLED_SYSTEMS narrows it at run time. */
export default createWorker(SYSTEMS);

/** The factory's workflow instances (wrangler.toml [[workflows]]). */
export { FactoryWorkflow } from "./factory-workflow";
