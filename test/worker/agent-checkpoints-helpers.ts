import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import worker from "../../functions/worker";
import type { Principal } from "../../src/platform/auth";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { HttpCheckpointSaver } from "../../src/agent/client/http-saver";
import { testEnv, token } from "./helpers";

export const db = createDatabase(loadConfig(testEnv), "agent-checkpoints-test");

export interface Owner {
  principal: Principal;
  bearer: string;
}

/** A caller of organization `tenant` (a new one by default), as a token and as the principal runAs takes. */
export async function owner(tenant = `org-${crypto.randomUUID().slice(0, 8)}`): Promise<Owner> {
  const sub = crypto.randomUUID();
  return { principal: { userId: sub, tenantId: tenant, roles: [], permissions: [] }, bearer: await token({ sub, tenant_id: tenant }) };
}

/** The HTTP saver pointed at this Worker's fetch handler inside workerd. */
export function httpSaver(bearer: string, writer?: string) {
  return new HttpCheckpointSaver({
    baseUrl: "https://api.test",
    token: bearer,
    writer,
    fetch: async (input, init) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(new Request(input as string, init) as never, testEnv as never, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
  });
}

/** A serialized checkpoint as the savers send it: one channel value, `parent` as its parent. */
export function checkpointBody(writer: string, parent: string | null, value = "hello", ns = "") {
  const id = uuid6(-1);
  return {
    writer,
    checkpointNs: ns,
    checkpointId: id,
    parentCheckpointId: parent,
    checkpoint: { v: 4, id, ts: new Date().toISOString(), channel_versions: { messages: `v-${id}` }, versions_seen: {} },
    metadata: { source: "loop", step: 1 },
    blobs: [{ channel: "messages", version: `v-${id}`, type: "json", blob: btoa(JSON.stringify(value)) }],
  };
}
