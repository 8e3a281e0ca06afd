import { factory } from "../../src/factory";
import { createWorker } from "../create-worker";

/** The factory system deployed alone (`wrangler deploy --env factory`): its bundle holds no other system. */
export default createWorker([factory]);

/** The factory's workflow instances (wrangler.toml [[env.factory.workflows]]). */
export { FactoryWorkflow } from "../factory-workflow";
