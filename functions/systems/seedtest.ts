import { seedtest } from "../../src/seedtest";
import { createWorker } from "../create-worker";

/** The seedtest system deployed alone (`wrangler deploy --env seedtest`): its bundle holds no other system. */
export default createWorker([seedtest]);
