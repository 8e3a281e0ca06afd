import { exam } from "../../src/exam";
import { createWorker } from "../create-worker";

/** The exam system deployed alone (`wrangler deploy --env exam`): its bundle holds no other system. */
export default createWorker([exam]);
