import { hub } from "../../src/hub";
import { createWorker } from "../create-worker";

/** The hub system deployed alone (`wrangler deploy --env hub`): its bundle holds no other system. */
export default createWorker([hub]);
