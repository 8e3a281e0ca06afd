import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { NeonCheckpointSaver } from "../../src/agent/checkpoint-saver";
import type { Config } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { startValidationStack, type ValidationStack } from "./stack";

/** (c) The Worker saver on the Neon HTTP driver, as a new user per checkpointer. */
let stack: ValidationStack;

const initializer: CheckpointSaverTestInitializer<NeonCheckpointSaver> = {
  checkpointerName: "NeonCheckpointSaver (Worker, Neon HTTP)",
  beforeAllTimeout: 60_000,
  async beforeAll() {
    stack = await startValidationStack();
  },
  async afterAll() {
    await stack?.stop();
  },
  async createCheckpointer() {
    await stack.clear();
    const db = createDatabase(stack.env as unknown as Config, "checkpoint-validation");
    return new NeonCheckpointSaver(db, { userId: crypto.randomUUID(), tenantId: "validation", roles: [], permissions: [] });
  },
};

export default initializer;
