import { agent } from "../../src/agent";
import { createWorker } from "../create-worker";

/** The agent system deployed alone (`wrangler deploy --env agent`): its bundle holds no other system. */
export default createWorker([agent]);
