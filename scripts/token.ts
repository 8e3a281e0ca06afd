import { parseArgs } from "node:util";
import { signDevToken } from "./lib/dev-keys";

/** npm run token -- --sub <uuid> [--tenant t] [--role admin]... [--ttl 1h]: prints a dev token. */
const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "00000000-0000-4000-8000-000000000001" },
    tenant: { type: "string" },
    role: { type: "string", multiple: true, default: [] },
    ttl: { type: "string", default: "1h" },
  },
});
if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.sub)) {
  console.error("--sub must be a UUID (the API keys users by UUID)");
  process.exit(2);
}
console.log(await signDevToken({ sub: values.sub, tenant: values.tenant, roles: values.role, ttl: values.ttl }));
