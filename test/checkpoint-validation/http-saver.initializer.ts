import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import worker from "../../functions/worker";
import { HttpCheckpointSaver } from "../../src/agent/client/http-saver";
import { startValidationStack, type ValidationStack } from "./stack";

/**
 * (b) The HTTP saver against the API. The Worker's fetch handler runs in this Node process on the
 * same bindings (it imports nothing Worker-only); the saver reaches it through `fetch`, so every
 * call is a full HTTP request through routing, authentication, validation and the Neon endpoint.
 */
let stack: ValidationStack;
const waitUntil: Promise<unknown>[] = [];
const ctx = { waitUntil: (p: Promise<unknown>) => void waitUntil.push(p), passThroughOnException() {}, props: {} };

const initializer: CheckpointSaverTestInitializer<HttpCheckpointSaver> = {
  checkpointerName: "HttpCheckpointSaver (HTTP API)",
  beforeAllTimeout: 60_000,
  async beforeAll() {
    stack = await startValidationStack();
  },
  async afterAll() {
    await Promise.allSettled(waitUntil);
    await stack?.stop();
  },
  async createCheckpointer() {
    await stack.clear();
    return new HttpCheckpointSaver({
      baseUrl: "https://api.test",
      token: await stack.newToken(crypto.randomUUID()),
      fetch: (input, init) => worker.fetch(new Request(input as string, init) as never, stack.env as never, ctx as never),
    });
  },
};

export default initializer;
