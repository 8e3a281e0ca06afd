import { parseArgs } from "node:util";
import { signDevToken } from "./lib/dev-keys";

/**
 * npm run token -- --sub <subject> [--tenant t] [--role admin]... [--ttl 1h]: prints a dev token.
 * The subject may be any identity provider's (`auth0|…`, `user_…`); the API maps it to a user id
 * (`npm run -s user-id -- --sub …` prints which).
 */
const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "00000000-0000-4000-8000-000000000001" },
    tenant: { type: "string" },
    role: { type: "string", multiple: true, default: [] },
    ttl: { type: "string", default: "1h" },
  },
});
console.log(await signDevToken({ sub: values.sub, tenant: values.tenant, roles: values.role, ttl: values.ttl }));
