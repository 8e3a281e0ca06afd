import type { z } from "zod";

/**
 * Headers of a connector's or MCP server's `config` are shown by every read of it; only the
 * sealed credentials (a connector's `credentials`, a server's `auth_config`) are never returned.
 * A config header whose name says it carries a credential is refused, pointing at the sealed
 * place, so a secret cannot end up in an answer by being put in the wrong field.
 */
const CREDENTIAL_NAME = /authorization|cookie|token|secret|password|passwd|api[-_]?key|session|credential/i;

/** Whether a header or member name says it carries a credential (also what workflow logs redact). */
export const namesCredential = (name: string) => CREDENTIAL_NAME.test(name);

/** `headers` refusing, by name, any header that carries a credential (`sealedField`: where it belongs). */
export function publicHeaders<T extends z.ZodType<Record<string, string>>>(headers: T, sealedField: string) {
  return headers.superRefine((h, ctx) => {
    for (const name of Object.keys(h)) {
      if (namesCredential(name)) ctx.addIssue({ code: "custom", path: [name], message: `carries a credential: put it in ${sealedField}.headers, which is sealed and never returned` });
    }
  });
}

/** Whether an absolute URL carries a user name or password (shown wherever the URL is). */
export function carriesUserinfo(u: string): boolean {
  try {
    const url = new URL(u);
    return url.username !== "" || url.password !== "";
  } catch {
    return false;
  }
}
