import type { CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { createWorker } from "../../functions/create-worker";
import { HttpCheckpointSaver } from "../../src/agent/client/http-saver";
import { SYSTEMS } from "../../src/systems";
import { startValidationStack, type ValidationStack } from "./stack";

/**
 * (b) The HTTP saver against the API. The all-in-one Worker's fetch handler (as functions/worker.ts
 * builds it, without the Workflows class, which needs workerd's cloudflare:workers) runs in this
 * Node process on the same bindings; the saver reaches it through `fetch`, so every
 * call is a full HTTP request through routing, authentication, validation and the Neon endpoint.
 */
let stack: ValidationStack;
const waitUntil: Promise<unknown>[] = [];
const worker = createWorker(SYSTEMS);
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
