/**
 * Stands in for `ajv` and `ajv-formats` in the Worker's bundle (wrangler.toml [alias], and the
 * tests' vitest config). The MCP SDK's Client imports its ajv validator statically, though it uses
 * it only when given no other; ours always gets the SDK's @cfworker/json-schema validator
 * (mcp-client.ts). ajv compiles schemas with `new Function`, which workerd refuses; this stub keeps
 * it out of the bundle and fails loudly should anything ever construct it.
 */
export default class AjvRefused {
  constructor() {
    throw new Error("ajv is not available in this Worker: pass the MCP SDK a CfWorkerJsonSchemaValidator");
  }
}
