import { parseArgs } from "node:util";
import { userIdFor } from "../src/platform/user-id";
import { wranglerVar } from "./lib/dev-keys";

/**
 * npm run -s user-id -- --sub <subject> [--iss <issuer>]: prints the user id the API gives the
 * token with that subject and issuer (default: wrangler.toml's API_JWT_ISSUER), so operators can
 * key data for a user before their first call (README "User ids from any identity provider").
 */
const { values } = parseArgs({ options: { sub: { type: "string" }, iss: { type: "string" } } });
if (!values.sub) {
  console.error("usage: npm run -s user-id -- --sub <subject> [--iss <issuer>]");
  process.exit(2);
}
console.log(await userIdFor(values.iss ?? wranglerVar("API_JWT_ISSUER"), values.sub));
